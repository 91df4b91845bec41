-- Sign-out and password changes end every session of the user: the session cookie carries the version it was issued
-- under, and a request whose version is not the row's current one is signed out.
ALTER TABLE admin_users ADD COLUMN session_version INTEGER NOT NULL DEFAULT 0;

-- ASP.NET Core Data Protection's key ring (what session cookies and antiforgery tokens are protected with). Each key's
-- XML holds its secret encrypted under the server secret (Secrets:Key).
CREATE TABLE data_protection_keys (
    name       TEXT NOT NULL PRIMARY KEY,
    xml        TEXT NOT NULL,
    created_at TEXT NOT NULL
);
