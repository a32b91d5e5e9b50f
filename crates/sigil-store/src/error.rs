//! `StoreError`: what can go wrong in the store, in terms its callers act on.
//!
//! Unique and foreign-key violations are classified here, once, so that
//! "already exists" reaches the OIDC and SCIM layers as a type rather than a
//! backend-specific message to be matched on.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// The uniqueness rule a write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    /// A user's `userName`, compared case-insensitively.
    UserName,
    /// A user's id.
    UserId,
    /// A group's `displayName`, compared case-insensitively.
    GroupDisplayName,
    /// A group's id.
    GroupId,
    /// A membership that already exists.
    GroupMember,
    /// An OAuth client's id.
    ClientId,
    /// A role name within its application.
    RoleName,
    /// A signing key's `kid`.
    KeyId,
    /// A one-time value (code, token hash, `jti`) seen before.
    OneTimeValue,
    /// A rule not listed above (the constraint or column named by the database).
    Other,
}

/// Errors of the identity store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No row has the key asked for.
    #[error("not found")]
    NotFound,
    /// The write would break a uniqueness rule; nothing was written.
    #[error("already exists ({0:?})")]
    Conflict(Unique),
    /// The write names a row that does not exist (a manager, a member, a client).
    #[error("refers to a missing record: {0}")]
    MissingReference(String),
    /// The row changed since the caller read it (optimistic concurrency).
    #[error("the record was modified concurrently")]
    VersionMismatch,
    /// A value the store refuses to keep, with the reason.
    #[error("{0}")]
    Invalid(String),
    /// The database cannot be reached, or no connection came free in time.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else; logged, never shown to clients.
    #[error("store error: {0}")]
    Other(String),
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::NotFound => Self::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                Self::Conflict(classify_unique(info.constraint_name(), info.message()))
            }
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info) => {
                Self::MissingReference(info.message().to_owned())
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                Self::Unavailable(info.message().to_owned())
            }
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, info)
                if is_lock_timeout(info.message()) =>
            {
                Self::Unavailable(info.message().to_owned())
            }
            other => Self::Other(other.to_string()),
        }
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(error: r2d2::Error) -> Self {
        Self::Unavailable(error.to_string())
    }
}

fn is_lock_timeout(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database is busy")
}

/// PostgreSQL names the violated index; SQLite names the columns
/// (`UNIQUE constraint failed: users.user_name_folded`). Both are mapped onto
/// the same rule.
fn classify_unique(constraint: Option<&str>, message: &str) -> Unique {
    const RULES: &[(&str, &str, Unique)] = &[
        ("users_user_name_folded_key", "users.user_name_folded", Unique::UserName),
        ("users_pkey", "users.id", Unique::UserId),
        ("groups_display_name_folded_key", "groups.display_name_folded", Unique::GroupDisplayName),
        ("groups_pkey", "groups.id", Unique::GroupId),
        ("group_members_pkey", "group_members.group_id", Unique::GroupMember),
        ("clients_pkey", "clients.id", Unique::ClientId),
        ("roles_client_name_key", "roles.client_id", Unique::RoleName),
        ("signing_keys_pkey", "signing_keys.kid", Unique::KeyId),
        ("authorization_codes_pkey", "authorization_codes.code_hash", Unique::OneTimeValue),
        ("refresh_tokens_pkey", "refresh_tokens.token_hash", Unique::OneTimeValue),
        ("revoked_tokens_pkey", "revoked_tokens.jti", Unique::OneTimeValue),
        ("sessions_pkey", "sessions.id_hash", Unique::OneTimeValue),
    ];
    RULES
        .iter()
        .find(|(pg, sqlite, _)| constraint == Some(*pg) || message.contains(sqlite))
        .map_or(Unique::Other, |(_, _, rule)| *rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_violations_are_classified_on_both_backends() {
        assert_eq!(classify_unique(Some("users_user_name_folded_key"), "duplicate key"), Unique::UserName);
        assert_eq!(
            classify_unique(None, "UNIQUE constraint failed: users.user_name_folded"),
            Unique::UserName
        );
        assert_eq!(
            classify_unique(
                None,
                "UNIQUE constraint failed: group_members.group_id, group_members.member_id"
            ),
            Unique::GroupMember
        );
        assert_eq!(classify_unique(Some("something_else"), "x"), Unique::Other);
    }
}
