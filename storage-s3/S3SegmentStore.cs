using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;

namespace Broadcast.Storage.S3;

/// <summary>
/// <see cref="ISegmentStore"/> on an S3 bucket (AWS S3, MinIO, R2, Ceph) through AWSSDK.S3.
/// <list type="bullet">
/// <item>Objects carry Content-Type and Cache-Control, so any origin (or a CDN reading the bucket directly) serves
/// the packager's policy.</item>
/// <item>ETag: S3's own ETag is an MD5 (or a multipart digest) and differs from <see cref="FileSystemSegmentStore.ETagOf"/>;
/// every origin must hand out the same validator for the same bytes, so reads compute it from the bytes, and the
/// tag also travels as user metadata <c>x-amz-meta-etag</c> (for tools and CDNs reading the bucket directly, and
/// to detect a torn read).</item>
/// <item>Retries: transient faults (5xx, 429, timeouts, refused connections) are retried with exponential backoff
/// and jitter by a Polly pipeline; the SDK's own retries are off so there is one retry policy, not two nested.</item>
/// <item>Uploads in flight are bounded by <see cref="S3StoreOptions.MaxConcurrentUploads"/>.</item>
/// <item>PutObject replaces atomically: S3 readers see the old or the new object, never a mix.</item>
/// </list>
/// </summary>
public sealed partial class S3SegmentStore : ISegmentStore, IDisposable
{
    /// <summary>User-metadata name of the store's content ETag (sent as x-amz-meta-etag).</summary>
    public const string ETagMetadata = "etag";

    /// <summary>DeleteObjects takes at most 1000 keys per request.</summary>
    private const int DeleteBatch = 1000;

    private readonly IAmazonS3 _client;
    private readonly S3StoreOptions _options;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _retry;
    private readonly SemaphoreSlim _uploads;

    public S3SegmentStore(S3StoreOptions options, ILogger<S3SegmentStore>? logger = null)
        : this(CreateClient(options), options, logger)
    {
    }

    public S3SegmentStore(IAmazonS3 client, S3StoreOptions options, ILogger<S3SegmentStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _client = client;
        _options = options;
        _logger = logger ?? NullLogger<S3SegmentStore>.Instance;
        _uploads = new SemaphoreSlim(options.MaxConcurrentUploads);
        _retry = options.MaxAttempts == 1 ? ResiliencePipeline.Empty : new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && IsTransient(e, args.Context.CancellationToken)),
                MaxRetryAttempts = options.MaxAttempts - 1,
                Delay = TimeSpan.FromMilliseconds(200),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                OnRetry = args =>
                {
                    LogRetry(_logger, args.AttemptNumber + 1, args.RetryDelay.TotalMilliseconds, args.Outcome.Exception?.Message ?? "");
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    public string Bucket => _options.Bucket;

    /// <summary>The SDK client configured from <paramref name="options"/> (checksums only when an operation requires them).</summary>
    public static IAmazonS3 CreateClient(S3StoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            // One retry policy (ours); SDK retries would multiply attempts.
            MaxErrorRetry = 0,
            Timeout = options.RequestTimeout,
            // SDK v4 adds CRC checksums to every request and validates responses by default; S3-compatible
            // services that do not implement flexible checksums reject or mangle such requests.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (!string.IsNullOrEmpty(options.ServiceUrl))
        {
            config.ServiceURL = options.ServiceUrl;
            config.AuthenticationRegion = options.Region;
        }
        else
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(options.Region);
        }

        return string.IsNullOrEmpty(options.AccessKey)
            ? new AmazonS3Client(config) // AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profile or instance role
            : new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config);
    }

    /// <summary>
    /// Start-up check: creates the bucket when <see cref="S3StoreOptions.CreateBucket"/> is set, then proves that
    /// the bucket exists and the credentials may list it. Throws <see cref="S3StoreUnavailableException"/> whose
    /// message names what failed (endpoint, bucket or credentials) and the setting to fix.
    /// </summary>
    public async Task EnsureBucketAsync(CancellationToken cancellationToken)
    {
        string where = string.IsNullOrEmpty(_options.ServiceUrl) ? $"AWS S3 ({_options.Region})" : _options.ServiceUrl;
        try
        {
            if (_options.CreateBucket)
            {
                try
                {
                    await _client.PutBucketAsync(new PutBucketRequest { BucketName = _options.Bucket, UseClientRegion = true },
                        cancellationToken).ConfigureAwait(false);
                    LogBucketCreated(_logger, _options.Bucket, where);
                }
                catch (AmazonS3Exception e) when (e.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
                {
                }
            }

            await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _options.Bucket, MaxKeys = 1, Prefix = _options.Prefix },
                cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.ErrorCode == "NoSuchBucket" || e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new S3StoreUnavailableException(
                $"S3 bucket '{_options.Bucket}' does not exist at {where} (Storage:S3:Bucket); create it or set Storage:S3:CreateBucket=true.", e);
        }
        catch (AmazonS3Exception e) when (e.ErrorCode is "InvalidAccessKeyId" or "SignatureDoesNotMatch" or "AccessDenied" or "InvalidToken"
                                          or "ExpiredToken"
                                          || e.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized)
        {
            throw new S3StoreUnavailableException(
                $"S3 at {where} rejected the credentials for bucket '{_options.Bucket}' ({e.ErrorCode}: {e.Message}); " +
                "check Storage:S3:AccessKey/SecretKey or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.", e);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or SocketException
                                  || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new S3StoreUnavailableException(
                $"S3 at {where} (Storage:S3:ServiceUrl) could not be reached for bucket '{_options.Bucket}': {e.Message}", e);
        }
    }

    public async ValueTask PutAsync(string key, ReadOnlyMemory<byte> data, string contentType, string? cacheControl,
        CancellationToken cancellationToken)
    {
        string objectKey = ObjectKey(key);
        ArgumentException.ThrowIfNullOrEmpty(contentType);
        string etag = FileSystemSegmentStore.ETagOf(data.Span);
        // The SDK reads a Stream; wrap the caller's array without copying when it has one.
        ArraySegment<byte> bytes = MemoryMarshal.TryGetArray(data, out var segment) ? segment : data.ToArray();

        await _uploads.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _retry.ExecuteAsync(async ct =>
            {
                using var stream = new MemoryStream(bytes.Array!, bytes.Offset, bytes.Count, writable: false);
                var request = new PutObjectRequest
                {
                    BucketName = _options.Bucket,
                    Key = objectKey,
                    InputStream = stream,
                    AutoCloseStream = false,
                    ContentType = contentType,
                    UseChunkEncoding = _options.UseChunkEncoding,
                };
                if (cacheControl is not null) request.Headers.CacheControl = cacheControl;
                request.Metadata.Add(ETagMetadata, etag);
                await _client.PutObjectAsync(request, ct).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _uploads.Release();
        }
    }

    public async ValueTask<StoredObject?> GetAsync(string key, CancellationToken cancellationToken)
    {
        string objectKey = ObjectKey(key);
        return await _retry.ExecuteAsync(async ct =>
        {
            GetObjectResponse response;
            try
            {
                response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = _options.Bucket, Key = objectKey },
                    ct).ConfigureAwait(false);
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }

            byte[] data = new byte[response.ContentLength];
            string? stored = null, etag = null;
            try
            {
                await response.ResponseStream.ReadExactlyAsync(data, ct).ConfigureAwait(false);
                stored = response.Metadata[ETagMetadata];
                etag = FileSystemSegmentStore.ETagOf(data);
            }
            finally
            {
                // The SDK checks the body against the response's MD5 as the response goes. A torn read fails that check
                // too; let the TornReadException below say what happened instead of the SDK's bare "hash not equal".
                try
                {
                    response.Dispose();
                }
                catch (AmazonClientException) when (IsTorn(stored, etag))
                {
                }
            }
            // The tag always describes these bytes. A stored tag that disagrees means the read raced a replace on
            // a service whose replace is not atomic (s3rver writes the object's file, then its metadata):
            // a torn read, retried like any transient fault.
            if (IsTorn(stored, etag))
                throw new TornReadException($"S3 object '{objectKey}' read {data.Length} bytes whose ETag {etag} differs from its metadata " +
                    $"{stored}.");
            string type = string.IsNullOrEmpty(response.Headers.ContentType) ? ContentTypes.FromKey(key) : response.Headers.ContentType;
            string? cache = string.IsNullOrEmpty(response.Headers.CacheControl) ? null : response.Headers.CacheControl;
            DateTimeOffset modified = response.LastModified is { } lm
                ? new DateTimeOffset(DateTime.SpecifyKind(lm.ToUniversalTime(), DateTimeKind.Utc)) : DateTimeOffset.UnixEpoch;
            return new StoredObject(data, type, cache, modified, etag!);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether read bytes with tag <paramref name="etag"/> disagree with the <paramref name="stored"/> tag of the object.</summary>
    private static bool IsTorn(string? stored, string? etag) => etag is not null && !string.IsNullOrEmpty(stored) && stored != etag;

    /// <summary>Deletes in batches of up to 1000 keys per DeleteObjects request; missing keys are not an error.</summary>
    public async ValueTask DeleteAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var objects = keys.Select(k => new KeyVersion { Key = ObjectKey(k) }).ToList();
        for (int i = 0; i < objects.Count; i += DeleteBatch)
        {
            var batch = objects.GetRange(i, Math.Min(DeleteBatch, objects.Count - i));
            var response = await _retry.ExecuteAsync(
                async ct => await _client.DeleteObjectsAsync(new DeleteObjectsRequest { BucketName = _options.Bucket, Objects = batch, Quiet = true },
                    ct).ConfigureAwait(false),
                cancellationToken).ConfigureAwait(false);
            if (response.DeleteErrors is { Count: > 0 } errors)
            {
                var first = errors[0];
                throw new IOException($"S3 DeleteObjects failed for {errors.Count} of {batch.Count} keys, first '{first.Key}': " +
                    $"{first.Code} {first.Message}");
            }
        }
    }

    public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var request = new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = _options.Prefix + prefix };
        while (true)
        {
            var response = await _retry.ExecuteAsync(
                async ct => await _client.ListObjectsV2Async(request, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            // SDK v4 leaves empty collections null.
            foreach (var o in response.S3Objects ?? [])
            {
                string key = o.Key[_options.Prefix.Length..];
                if (StoreKeys.IsValid(key, out _)) yield return key;
            }

            if (response.IsTruncated != true || string.IsNullOrEmpty(response.NextContinuationToken)) yield break;
            request.ContinuationToken = response.NextContinuationToken;
        }
    }

    public void Dispose()
    {
        _client.Dispose();
        _uploads.Dispose();
    }

    /// <summary>Keys are validated (channel and rendition ids only) before they become object names.</summary>
    private string ObjectKey(string key)
    {
        StoreKeys.Validate(key);
        return _options.Prefix + key;
    }

    /// <summary>Faults worth another attempt: the service or network failed, not the request.</summary>
    internal static bool IsTransient(Exception e, CancellationToken callerToken) => e switch
    {
        OperationCanceledException => !callerToken.IsCancellationRequested, // a request timeout
        AmazonServiceException s when s.StatusCode is 0 or HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout || (int)s.StatusCode >= 500
            => true,
        AmazonServiceException s => s.InnerException is HttpRequestException or IOException or SocketException,
        AmazonClientException c => c.InnerException is HttpRequestException or IOException or SocketException || c.InnerException is null,
        HttpRequestException or IOException or SocketException => true,
        _ => false,
    };

    [LoggerMessage(EventId = 4501, Level = LogLevel.Debug, Message = "S3 request attempt {Attempt} after {DelayMs} ms: {Reason}")]
    private static partial void LogRetry(ILogger logger, int attempt, double delayMs, string reason);

    [LoggerMessage(EventId = 4502, Level = LogLevel.Information, Message = "Created S3 bucket {Bucket} at {Where}")]
    private static partial void LogBucketCreated(ILogger logger, string bucket, string where);
}

/// <summary>The bytes read do not match the object's recorded ETag (a read that raced a non-atomic replace).</summary>
public sealed class TornReadException(string message) : IOException(message);

/// <summary>The S3 store cannot work as configured; the message names the failing part and the setting.</summary>
public sealed class S3StoreUnavailableException(string message, Exception? inner) : Exception(message, inner);
