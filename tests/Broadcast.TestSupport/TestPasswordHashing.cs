namespace Broadcast.TestSupport;

/// <summary>
/// The PBKDF2 iterations test servers hash passwords with (<c>Admin:PasswordHashIterations</c>, the setting's least). Every server
/// start hashes a first admin's generated password, and at the production 600,000 iterations that is most of a test host's start
/// on two cores; the tests of hashing itself choose their own.
/// </summary>
public static class TestPasswordHashing
{
    public const string Iterations = "1000";

    /// <summary>The command-line switch for a server process or an in-process server.</summary>
    public const string Argument = "--Admin:PasswordHashIterations=" + Iterations;
}
