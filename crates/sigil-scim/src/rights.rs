//! Rights per group, as in Curity's groups authorization manager: the
//! operator grants a group create, read, update or delete on Users or
//! Groups, and a user's token is allowed an operation when one of the
//! groups the user belongs to now (read from the store on every request,
//! nested groups included; never the token's `groups` claim, which is as
//! old as the token) holds that right.
//!
//! Rights per group stand beside the built-in roles of `sigil-access`: a
//! user's token may do an operation when the user holds a role that may,
//! or one of its groups holds the right. Either way the token still needs
//! the scope (what its client may do). A client's own token (client
//! credentials) acts for no user and is judged by the client's roles.

use std::fmt;
use std::str::FromStr;

/// A SCIM resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `/Users` (and `/Me`).
    User,
    /// `/Groups`.
    Group,
}

/// What is done to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// POST.
    Create,
    /// GET and searches.
    Read,
    /// PUT and PATCH.
    Update,
    /// DELETE.
    Delete,
}

/// One grant: members of `group` may do `operations` on `kind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Right {
    /// The group's display name or id. Matched against the groups the
    /// user belongs to now, as the store has them (not the token's claim).
    pub group: String,
    /// The resource type.
    pub kind: Kind,
    /// What its members may do.
    pub operations: Vec<Operation>,
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "User" | "Users" => Ok(Self::User),
            "Group" | "Groups" => Ok(Self::Group),
            other => Err(format!("`{other}` is neither User nor Group")),
        }
    }
}

impl FromStr for Operation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "create" => Ok(Self::Create),
            "read" => Ok(Self::Read),
            "update" => Ok(Self::Update),
            "delete" => Ok(Self::Delete),
            other => Err(format!("`{other}` is not one of create, read, update, delete")),
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Create => "create",
            Self::Read => "read",
            Self::Update => "update",
            Self::Delete => "delete",
        })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::User => "users",
            Self::Group => "groups",
        })
    }
}

/// Whether one of `groups` holds any right at all.
pub(crate) fn any_right(rights: &[Right], groups: &[String]) -> bool {
    rights.iter().any(|r| groups.iter().any(|g| g.eq_ignore_ascii_case(&r.group)))
}

/// Whether members of `groups` may do `operation` on `kind` under `rights`.
pub(crate) fn allowed(rights: &[Right], groups: &[String], kind: Kind, operation: Operation) -> bool {
    rights.iter().any(|r| {
        r.kind == kind
            && r.operations.contains(&operation)
            && groups.iter().any(|g| g.eq_ignore_ascii_case(&r.group))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_right_needs_the_group_the_kind_and_the_operation() {
        let rights = vec![
            Right {
                group: "hr-admins".into(),
                kind: Kind::User,
                operations: vec![Operation::Create, Operation::Read],
            },
            Right { group: "auditors".into(), kind: Kind::Group, operations: vec![Operation::Read] },
        ];
        let hr = vec!["HR-Admins".to_owned()];
        assert!(allowed(&rights, &hr, Kind::User, Operation::Create));
        assert!(!allowed(&rights, &hr, Kind::User, Operation::Delete));
        assert!(!allowed(&rights, &hr, Kind::Group, Operation::Read));
        assert!(allowed(&rights, &["auditors".to_owned()], Kind::Group, Operation::Read));
        assert!(!allowed(&rights, &[], Kind::User, Operation::Read));
        assert_eq!("Users".parse::<Kind>(), Ok(Kind::User));
        assert!("write".parse::<Operation>().is_err());
    }
}
