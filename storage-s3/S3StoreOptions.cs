namespace Broadcast.Storage.S3;

/// <summary>
/// <c>Storage:S3</c>: where segments live when <c>Storage:Kind=s3</c>. Any S3-compatible service (AWS S3, MinIO,
/// R2, Ceph). Credentials: <see cref="AccessKey"/>/<see cref="SecretKey"/> when set, otherwise the SDK's standard
/// chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profile, instance role).
/// </summary>
public sealed record S3StoreOptions
{
    public const string SectionName = "Storage:S3";

    /// <summary>Endpoint of an S3-compatible service (http://minio:9000); empty for AWS S3 in <see cref="Region"/>.</summary>
    public string? ServiceUrl { get; set; }

    public string Bucket { get; set; } = "";

    /// <summary>Signing region; MinIO and most compatible services accept us-east-1.</summary>
    public string Region { get; set; } = "us-east-1";

    public string? AccessKey { get; set; }

    public string? SecretKey { get; set; }

    /// <summary>Path-style URLs (http://host/bucket/key): what MinIO and most self-hosted services need.</summary>
    public bool ForcePathStyle { get; set; } = true;

    /// <summary>Prepended to every key ("broadcast/" puts everything under that folder); empty for the bucket root.</summary>
    public string Prefix { get; set; } = "";

    /// <summary>Create the bucket at start when it does not exist.</summary>
    public bool CreateBucket { get; set; }

    /// <summary>Uploads running at once (segments of several renditions go up in parallel).</summary>
    public int MaxConcurrentUploads { get; set; } = 4;

    /// <summary>Attempts per request before the error reaches the caller (the upload queue then keeps the object).</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Timeout of one S3 request.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// aws-chunked (streaming SigV4) uploads. On by default as in the SDK; some S3 peers (s3rver) store the chunk
    /// framing as object bytes, so tests against them switch it off.
    /// </summary>
    public bool UseChunkEncoding { get; set; } = true;

    /// <summary>Throws with the name of the first setting that cannot work.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Bucket)) throw new InvalidOperationException("Storage:S3:Bucket is required when Storage:Kind=s3.");
        if (!string.IsNullOrEmpty(ServiceUrl) && !Uri.TryCreate(ServiceUrl, UriKind.Absolute, out _))
            throw new InvalidOperationException($"Storage:S3:ServiceUrl '{ServiceUrl}' is not an absolute URL.");
        if (string.IsNullOrEmpty(AccessKey) != string.IsNullOrEmpty(SecretKey))
            throw new InvalidOperationException("Storage:S3:AccessKey and Storage:S3:SecretKey must be set together (or neither, " +
                "for the AWS environment variables).");
        if (Prefix.Length > 0 && (!Prefix.EndsWith('/') || !StoreKeys.IsValid(Prefix.TrimEnd('/'), out _)))
            throw new InvalidOperationException($"Storage:S3:Prefix '{Prefix}' must be a valid key path ending in '/'.");
        if (MaxConcurrentUploads < 1) throw new InvalidOperationException("Storage:S3:MaxConcurrentUploads must be at least 1.");
        if (MaxAttempts < 1) throw new InvalidOperationException("Storage:S3:MaxAttempts must be at least 1.");
    }
}
