//! Who may do what on Sigil's own APIs: the built-in roles, the operations
//! of the admin API and of the SCIM service, and the one table of rights
//! ([`RIGHTS`]) that both services check before they do anything.
//!
//! The table is the single source of truth; `docs/authorization.md` shows
//! it as a matrix, and a test here keeps the two equal. A request is
//! allowed when its token carries one of the scopes the operation needs
//! (what the client may do) *and* the token's principal — the user it acts
//! for, or its client when it acts for no user — holds a role the table
//! allows (what that principal may do).
//!
//! This crate depends on nothing: both `sigil-scim` and the admin API use
//! it without depending on each other.

use std::fmt;
use std::str::FromStr;

/// A built-in role: Sigil's own, as opposed to the roles applications
/// define. Granted to users, to groups (whose members, nested ones too,
/// then hold it) and to clients (for their client credentials tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Runs the platform: every operation.
    PlatformOperator,
    /// Manages people: SCIM writes, and who holds application roles.
    UserAdmin,
    /// Sees everything, changes nothing.
    Auditor,
    /// A provisioning client (Entra ID, Okta, an HR sync): SCIM reads and
    /// writes, nothing of the admin API.
    ServiceAccount,
}

impl Role {
    /// Every role, in the matrix's column order.
    pub const ALL: [Role; 4] = [Role::PlatformOperator, Role::UserAdmin, Role::Auditor, Role::ServiceAccount];

    /// The name used in the CLI, the admin API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformOperator => "platform-operator",
            Role::UserAdmin => "user-admin",
            Role::Auditor => "auditor",
            Role::ServiceAccount => "service-account",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            format!("`{s}` is not a built-in role (platform-operator, user-admin, auditor, service-account)")
        })
    }
}

/// Everything the admin API and the SCIM service do, at the grain rights
/// are granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `/ServiceProviderConfig`, `/Schemas`, `/ResourceTypes`.
    ScimDiscovery,
    /// GET `/Users`, `/Users/{id}`, searches over users.
    ScimUsersRead,
    /// POST `/Users`.
    ScimUsersCreate,
    /// PUT and PATCH `/Users/{id}` (and `/Me`).
    ScimUsersUpdate,
    /// DELETE `/Users/{id}` (and `/Me`).
    ScimUsersDelete,
    /// GET `/Groups`, `/Groups/{id}`, searches over groups.
    ScimGroupsRead,
    /// POST `/Groups`.
    ScimGroupsCreate,
    /// PUT and PATCH `/Groups/{id}`.
    ScimGroupsUpdate,
    /// DELETE `/Groups/{id}`.
    ScimGroupsDelete,
    /// List and read clients (never their secrets).
    ClientsRead,
    /// Register and remove clients.
    ClientsWrite,
    /// List application roles and who holds them.
    RolesRead,
    /// Define and remove application roles.
    RolesDefine,
    /// Grant and revoke application roles.
    RolesGrant,
    /// List who holds built-in roles.
    AccessRead,
    /// Grant and revoke built-in roles.
    AccessGrant,
    /// List signing keys.
    KeysRead,
    /// Rotate signing keys.
    KeysRotate,
    /// Read the audit trail (sign-ins, SCIM writes, admin decisions).
    ReadAudit,
}

/// Which scopes admit a token to an operation: any one of them will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scopes {
    /// Reading SCIM resources: `scim:read`, `scim:write` or `admin`.
    ScimRead,
    /// Changing SCIM resources: `scim:write` or `admin`.
    ScimWrite,
    /// The admin API: `admin`.
    Admin,
}

impl Scopes {
    /// The scopes, any one of which admits the token.
    pub fn any_of(self) -> &'static [&'static str] {
        match self {
            Scopes::ScimRead => &["scim:read", "scim:write", ADMIN_SCOPE],
            Scopes::ScimWrite => &["scim:write", ADMIN_SCOPE],
            Scopes::Admin => &[ADMIN_SCOPE],
        }
    }

    /// The scope to name in an `insufficient_scope` answer (RFC 6750 §3.1).
    pub fn least(self) -> &'static str {
        self.any_of()[0]
    }
}

/// The scope a client asks for to use the admin API with its principal's
/// built-in roles.
pub const ADMIN_SCOPE: &str = "admin";

/// Every scope the table names: the scopes of Sigil's own APIs, and what
/// an API token may carry.
pub const API_SCOPES: &[&str] = &["scim:read", "scim:write", ADMIN_SCOPE];

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Right {
    /// The operation.
    pub operation: Operation,
    /// Its name in `docs/authorization.md`.
    pub name: &'static str,
    /// The scopes that admit a token to it.
    pub scopes: Scopes,
    /// The roles that may do it.
    pub roles: &'static [Role],
}

use Role::{Auditor, PlatformOperator as Operator, ServiceAccount as Service, UserAdmin};

const EVERYONE: &[Role] = &[Operator, UserAdmin, Auditor, Service];
const PROVISIONERS: &[Role] = &[Operator, UserAdmin, Service];
const OVERSEERS: &[Role] = &[Operator, Auditor];
const PEOPLE_OVERSEERS: &[Role] = &[Operator, UserAdmin, Auditor];
const PEOPLE_MANAGERS: &[Role] = &[Operator, UserAdmin];
const OPERATOR: &[Role] = &[Operator];

const fn row(operation: Operation, name: &'static str, scopes: Scopes, roles: &'static [Role]) -> Right {
    Right { operation, name, scopes, roles }
}

/// The table of rights: every operation of the admin API and the SCIM
/// service, the scopes that admit a token to it and the roles that may do it.
pub const RIGHTS: &[Right] = &[
    row(Operation::ScimDiscovery, "scim.discovery.read", Scopes::ScimRead, EVERYONE),
    row(Operation::ScimUsersRead, "scim.users.read", Scopes::ScimRead, EVERYONE),
    row(Operation::ScimUsersCreate, "scim.users.create", Scopes::ScimWrite, PROVISIONERS),
    row(Operation::ScimUsersUpdate, "scim.users.update", Scopes::ScimWrite, PROVISIONERS),
    row(Operation::ScimUsersDelete, "scim.users.delete", Scopes::ScimWrite, PROVISIONERS),
    row(Operation::ScimGroupsRead, "scim.groups.read", Scopes::ScimRead, EVERYONE),
    row(Operation::ScimGroupsCreate, "scim.groups.create", Scopes::ScimWrite, PROVISIONERS),
    row(Operation::ScimGroupsUpdate, "scim.groups.update", Scopes::ScimWrite, PROVISIONERS),
    row(Operation::ScimGroupsDelete, "scim.groups.delete", Scopes::ScimWrite, PROVISIONERS),
    row(Operation::ClientsRead, "admin.clients.read", Scopes::Admin, OVERSEERS),
    row(Operation::ClientsWrite, "admin.clients.write", Scopes::Admin, OPERATOR),
    row(Operation::RolesRead, "admin.roles.read", Scopes::Admin, PEOPLE_OVERSEERS),
    row(Operation::RolesDefine, "admin.roles.define", Scopes::Admin, OPERATOR),
    row(Operation::RolesGrant, "admin.roles.grant", Scopes::Admin, PEOPLE_MANAGERS),
    row(Operation::AccessRead, "admin.access.read", Scopes::Admin, OVERSEERS),
    row(Operation::AccessGrant, "admin.access.grant", Scopes::Admin, OPERATOR),
    row(Operation::KeysRead, "admin.keys.read", Scopes::Admin, OVERSEERS),
    row(Operation::KeysRotate, "admin.keys.rotate", Scopes::Admin, OPERATOR),
    row(Operation::ReadAudit, "admin.audit.read", Scopes::Admin, OVERSEERS),
];

// The table lists the operations in declaration order, each once, so an
// operation's row is found by its discriminant; checked when compiling.
const _: () = {
    assert!(RIGHTS.len() == Operation::ReadAudit as usize + 1);
    let mut i = 0;
    while i < RIGHTS.len() {
        assert!(RIGHTS[i].operation as usize == i);
        i += 1;
    }
};

impl Operation {
    /// This operation's row of [`RIGHTS`].
    pub fn right(self) -> &'static Right {
        &RIGHTS[self as usize]
    }
}

/// Why a principal may not do an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The token lacks every scope that admits it (RFC 6750 §3.1
    /// `insufficient_scope`); the scope to ask for is named.
    Scope(&'static str),
    /// The scope is there, but the principal holds no role that may.
    Role,
}

/// Whether a token with `scopes`, whose principal holds `roles`, may do
/// `operation`.
pub fn check<S: AsRef<str>>(operation: Operation, scopes: &[S], roles: &[Role]) -> Result<(), Refusal> {
    check_scope(operation, scopes)?;
    if roles.iter().any(|held| operation.right().roles.contains(held)) { Ok(()) } else { Err(Refusal::Role) }
}

/// Whether a token with `scopes` is admitted to `operation` at all, before
/// anyone asks what its principal holds.
pub fn check_scope<S: AsRef<str>>(operation: Operation, scopes: &[S]) -> Result<(), Refusal> {
    let wanted = operation.right().scopes;
    if scopes.iter().any(|s| wanted.any_of().contains(&s.as_ref())) {
        Ok(())
    } else {
        Err(Refusal::Scope(wanted.least()))
    }
}

#[cfg(test)]
mod tests;
