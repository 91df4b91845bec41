namespace Broadcast.Storage;

/// <summary>
/// The <see cref="UploadQueue"/>'s waiting objects beyond its memory budget: one file per object in
/// <see cref="UploadQueueOptions.SpillDirectory"/>, named by a sequence number, read back when the upload can start and
/// deleted once it is stored, superseded or dropped.
/// </summary>
internal sealed class UploadSpill
{
    private readonly string _directory;
    private long _sequence;

    public UploadSpill(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        _directory = directory;
        Directory.CreateDirectory(directory);
    }

    /// <summary>Writes one waiting object; returns its file.</summary>
    public async Task<string> WriteAsync(byte[] data, CancellationToken cancellationToken)
    {
        string path = Path.Combine(_directory, $"{Interlocked.Increment(ref _sequence):D12}.spill");
        await File.WriteAllBytesAsync(path, data, cancellationToken).ConfigureAwait(false);
        return path;
    }

    /// <summary>The object's bytes, or null when its file is gone (uploaded and removed meanwhile: the store has it).</summary>
    public static async Task<byte[]?> TryReadAsync(string path, CancellationToken cancellationToken)
    {
        try { return await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false); }
        catch (FileNotFoundException) { return null; }
    }

    public static Task<byte[]> ReadAsync(string path, CancellationToken cancellationToken) => File.ReadAllBytesAsync(path, cancellationToken);

    public static void Delete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
    }
}
