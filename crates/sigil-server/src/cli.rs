//! The command line: every subcommand, its flags and their help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Sigil: an OpenID Connect provider and SCIM 2.0 server.
///
/// With no configuration it keeps its data in ./sigil.db (SQLite) and
/// serves on 127.0.0.1:8080. Point SIGIL_DATABASE_URL at a postgres:// URL
/// to run several nodes on one PostgreSQL database.
#[derive(Debug, Parser)]
#[command(name = "sigil", version, propagate_version = true)]
pub(crate) struct Cli {
    /// TOML configuration file; SIGIL_* environment variables override it.
    #[arg(long, short = 'c', global = true, value_name = "FILE", env = "SIGIL_CONFIG")]
    pub(crate) config: Option<PathBuf>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Start the HTTP server (migrates the store and creates signing keys first).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage groups and their members.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage API tokens: long-lived bearer tokens a client presents to
    /// SCIM or the admin API, for provisioning services such as Entra ID
    /// and Okta; see docs/provisioning-entra.md.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage the roles applications define, and who holds them.
    #[command(subcommand)]
    Role(RoleCommand),
    /// Manage who holds Sigil's built-in roles (platform-operator,
    /// user-admin, auditor, service-account); see docs/authorization.md.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Read the audit trail: sign-in attempts, SCIM writes and admin API
    /// decisions; see docs/operations.md.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Copy the whole store into another, empty database (e.g. SQLite to
    /// PostgreSQL).
    ///
    /// Every table moves: users, groups, clients, roles, grants, signing
    /// keys, sessions, tokens, consents, the server's secrets. The store is
    /// read on one snapshot; the target is migrated, then written in one
    /// transaction, and refused when it holds any row. Stop the servers
    /// first, or what they write after the snapshot is not copied. A
    /// server on the copy keeps the keys and accepts the tokens issued
    /// before. See docs/operations.md, "Backup and restore".
    Copy(CopyArgs),
    /// Write an online backup of the SQLite store to a new file.
    ///
    /// The backup is one consistent snapshot, taken while servers go on
    /// writing; a server started on FILE has the same data. On PostgreSQL,
    /// use pg_dump instead (see docs/operations.md, "Backup and restore").
    Backup {
        /// The file to create; an existing file is refused.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Print a completion script for a shell, e.g.
    /// `sigil completions bash > /etc/bash_completion.d/sigil`.
    Completions {
        /// bash, zsh or fish.
        #[arg(value_name = "SHELL")]
        shell: Shell,
    },
}

/// Where `sigil copy` writes.
#[derive(Debug, Args)]
pub(crate) struct CopyArgs {
    /// The database to copy into: a postgres:// URL or a SQLite file
    /// (created when missing). It must hold no row of Sigil's tables.
    #[arg(long, value_name = "DATABASE_URL")]
    pub(crate) to: String,
    #[command(flatten)]
    pub(crate) output: Output,
}

/// The shells `sigil completions` writes a script for.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// How a list or show command prints.
#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct Output {
    /// Print JSON (field names as in docs/operations.md) instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AdminCommand {
    /// Grant a built-in role to a user, a group (whose members, nested ones
    /// too, then hold it) or a client (for its client credentials tokens).
    Grant(AdminGrant),
    /// Take a built-in role away.
    Revoke(AdminGrant),
    /// List who holds which built-in role.
    List(Output),
}

/// A built-in role and who it goes to.
#[derive(Debug, Clone, Args)]
#[group(skip)]
#[command(group(clap::ArgGroup::new("grantee").required(true).args(["user", "group", "client"])))]
pub(crate) struct AdminGrant {
    /// platform-operator, user-admin, auditor or service-account.
    #[arg(value_name = "ROLE")]
    pub(crate) role: String,
    /// A user, by user name.
    #[arg(long, value_name = "USERNAME")]
    pub(crate) user: Option<String>,
    /// A group, by name.
    #[arg(long, value_name = "NAME")]
    pub(crate) group: Option<String>,
    /// A client, by client_id.
    #[arg(long, value_name = "ID")]
    pub(crate) client: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RoleCommand {
    /// Define a role for an application (a client).
    Add {
        #[command(flatten)]
        role: RoleName,
        /// What the role is for.
        #[arg(long, value_name = "TEXT")]
        description: Option<String>,
    },
    /// Remove a role and its grants.
    Remove(RoleName),
    /// Grant a role to a user or a group (whose members, nested ones too,
    /// then hold it).
    Grant(RoleGrant),
    /// Take a role away from a user or a group.
    Revoke(RoleGrant),
    /// List roles.
    List {
        /// Only this application's roles.
        #[arg(long, value_name = "ID")]
        client: Option<String>,
        #[command(flatten)]
        output: Output,
    },
}

/// A role of an application.
#[derive(Debug, Clone, Args)]
pub(crate) struct RoleName {
    /// The application (client_id) that defines the role.
    #[arg(long, value_name = "ID")]
    pub(crate) client: String,
    /// The role's name.
    #[arg(long, value_name = "NAME")]
    pub(crate) name: String,
}

/// A role and who it goes to.
#[derive(Debug, Clone, Args)]
pub(crate) struct RoleGrant {
    #[command(flatten)]
    pub(crate) role: RoleName,
    /// A user, by user name.
    #[arg(long, value_name = "USERNAME", conflicts_with = "group")]
    pub(crate) user: Option<String>,
    /// A group, by name.
    #[arg(long, value_name = "NAME")]
    pub(crate) group: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Create a user.
    Add(Box<UserAdd>),
    /// List users.
    List(Output),
    /// Show everything Sigil keeps about one user but the password hash.
    Show(UserShow),
    /// Change a user's profile. An option given replaces that attribute;
    /// an empty value ("") clears it.
    Update(Box<UserUpdate>),
    /// Disable a user: they can no longer sign in, and their sessions,
    /// refresh tokens and grants are revoked at once.
    Disable(UserName),
    /// Enable a disabled user again (revoked tokens stay revoked).
    Enable(UserName),
    /// Remove a user with their memberships, sessions, tokens and grants.
    Remove(UserName),
    /// Set a user's password, read from standard input; the password
    /// policy applies.
    SetPassword(UserSetPassword),
    /// Print a one-time link at which the user chooses a new password
    /// themselves (the operator never learns it). Setting it signs the
    /// user out everywhere; a new link revokes the user's earlier one. A
    /// user without a password yet (provisioned through SCIM) gets their
    /// first password this way. Hand the link over privately: whoever
    /// holds it can set the password until it is used or expires.
    ResetLink(UserResetLink),
}

#[derive(Debug, Args)]
pub(crate) struct UserResetLink {
    /// Login name, in any letter case.
    #[arg(long, value_name = "U")]
    pub(crate) username: String,
    /// How long the link works: a number and a unit (s, m, h, d), e.g.
    /// 30m. Default 1h, at least 5m, at most 7d.
    #[arg(long, value_name = "DURATION")]
    pub(crate) expires_in: Option<String>,
    #[command(flatten)]
    pub(crate) output: Output,
}

/// A user, by user name.
#[derive(Debug, Args)]
pub(crate) struct UserName {
    /// Login name, in any letter case.
    #[arg(long, value_name = "U")]
    pub(crate) username: String,
}

/// A user to show.
#[derive(Debug, Args)]
pub(crate) struct UserShow {
    /// Login name, in any letter case.
    #[arg(long, value_name = "U")]
    pub(crate) username: String,
    #[command(flatten)]
    pub(crate) output: Output,
}

/// The profile attributes `sigil user update` sets.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("change").required(true).multiple(true).args([
    "display_name", "given_name", "family_name", "nickname", "emails", "phone_number", "locale", "zoneinfo",
])))]
pub(crate) struct UserUpdate {
    /// Login name, in any letter case.
    #[arg(long, value_name = "U")]
    pub(crate) username: String,
    /// Display name.
    #[arg(long, value_name = "NAME")]
    pub(crate) display_name: Option<String>,
    /// Given (first) name.
    #[arg(long, value_name = "G")]
    pub(crate) given_name: Option<String>,
    /// Family (last) name.
    #[arg(long, value_name = "F")]
    pub(crate) family_name: Option<String>,
    /// Casual name (OpenID `nickname`).
    #[arg(long, value_name = "NAME")]
    pub(crate) nickname: Option<String>,
    /// E-mail address, repeatable: replaces the list (the first is primary).
    #[arg(long = "email", value_name = "E")]
    pub(crate) emails: Option<Vec<String>>,
    /// Phone number, e.g. tel:+41-22-767-6111 (OpenID `phone_number`).
    #[arg(long, value_name = "PHONE")]
    pub(crate) phone_number: Option<String>,
    /// Locale, e.g. en-GB (OpenID `locale`).
    #[arg(long, value_name = "LOCALE")]
    pub(crate) locale: Option<String>,
    /// IANA time zone, e.g. Europe/Zurich (OpenID `zoneinfo`).
    #[arg(long, value_name = "TZ")]
    pub(crate) zoneinfo: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct UserSetPassword {
    /// Login name, in any letter case.
    #[arg(long, value_name = "U")]
    pub(crate) username: String,
    /// Read the new password from the first line of standard input (the
    /// only way: a password on the command line is visible to other local
    /// users).
    #[arg(long, required = true)]
    pub(crate) password_stdin: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UserAdd {
    /// Login name, unique regardless of letter case.
    #[arg(long, value_name = "U")]
    pub(crate) username: String,
    /// Password (stored as an argon2id hash). Prefer --password-stdin: a
    /// password on the command line is visible to other local users.
    #[arg(
        long,
        value_name = "P",
        conflicts_with = "password_stdin",
        required_unless_present = "password_stdin"
    )]
    pub(crate) password: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub(crate) password_stdin: bool,
    /// E-mail address (the first one given is primary).
    #[arg(long = "email", value_name = "E")]
    pub(crate) emails: Vec<String>,
    /// Given (first) name.
    #[arg(long, value_name = "G")]
    pub(crate) given_name: Option<String>,
    /// Family (last) name.
    #[arg(long, value_name = "F")]
    pub(crate) family_name: Option<String>,
    /// Display name (defaults to "given family" when both are given).
    #[arg(long, value_name = "NAME")]
    pub(crate) display_name: Option<String>,
    /// Casual name (OpenID `nickname`).
    #[arg(long, value_name = "NAME")]
    pub(crate) nickname: Option<String>,
    /// Phone number, e.g. tel:+41-22-767-6111 (OpenID `phone_number`).
    #[arg(long, value_name = "PHONE")]
    pub(crate) phone_number: Option<String>,
    /// Street address of the user's (work) address.
    #[arg(long, value_name = "STREET")]
    pub(crate) street_address: Option<String>,
    /// City or locality of the address.
    #[arg(long, value_name = "CITY")]
    pub(crate) locality: Option<String>,
    /// State or region of the address.
    #[arg(long, value_name = "REGION")]
    pub(crate) region: Option<String>,
    /// Postal code of the address.
    #[arg(long, value_name = "CODE")]
    pub(crate) postal_code: Option<String>,
    /// Country of the address (ISO 3166-1 alpha-2, e.g. CH).
    #[arg(long, value_name = "CC")]
    pub(crate) country: Option<String>,
    /// Locale, e.g. en-GB (OpenID `locale`).
    #[arg(long, value_name = "LOCALE")]
    pub(crate) locale: Option<String>,
    /// IANA time zone, e.g. Europe/Zurich (OpenID `zoneinfo`).
    #[arg(long, value_name = "TZ")]
    pub(crate) zoneinfo: Option<String>,
    /// Add the user to this group, created when missing. Repeatable.
    #[arg(long = "group", value_name = "NAME")]
    pub(crate) groups: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum GroupCommand {
    /// Create a group.
    Add(GroupName),
    /// List groups and their direct members.
    List(Output),
    /// Show a group: its members (users and groups) and the groups it is in.
    Show {
        #[command(flatten)]
        group: GroupName,
        #[command(flatten)]
        output: Output,
    },
    /// Remove a group and its memberships (its members stay).
    Remove(GroupName),
    /// Add or remove a group's members.
    #[command(subcommand)]
    Member(GroupMemberCommand),
}

/// A group, by name.
#[derive(Debug, Args)]
pub(crate) struct GroupName {
    /// The group's name, unique regardless of letter case.
    #[arg(long, value_name = "NAME")]
    pub(crate) name: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum GroupMemberCommand {
    /// Make a user a member of a group.
    Add(GroupMember),
    /// Take a user out of a group.
    Remove(GroupMember),
}

/// A user in a group.
#[derive(Debug, Args)]
pub(crate) struct GroupMember {
    /// The group, by name.
    #[arg(long, value_name = "NAME")]
    pub(crate) group: String,
    /// The user, by user name.
    #[arg(long, value_name = "U")]
    pub(crate) user: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ClientCommand {
    /// Register a client. A confidential client without --secret gets a
    /// generated secret, printed once.
    Add(Box<ClientAdd>),
    /// Change a client's settings. A list option replaces the whole list.
    Update(Box<ClientUpdate>),
    /// Remove a client and every grant, token and consent it holds.
    Remove {
        /// The client_id.
        #[arg(long, value_name = "ID")]
        id: String,
    },
    /// List clients.
    List(Output),
    /// Show a client's settings (never its secret or the secret's digest).
    Show {
        /// The client_id.
        #[arg(long, value_name = "ID")]
        id: String,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ClientUpdate {
    /// The client_id.
    #[arg(long, value_name = "ID")]
    pub(crate) id: String,
    /// Name shown to users on the consent page.
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
    /// Redirect URIs (repeat for several; replaces the list).
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub(crate) redirect_uris: Option<Vec<String>>,
    /// Post-logout redirect URIs (replaces the list).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub(crate) post_logout_redirect_uris: Option<Vec<String>>,
    /// Grant types (replaces the list).
    #[arg(long = "grant-type", value_name = "T")]
    pub(crate) grant_types: Option<Vec<String>>,
    /// Space-separated scopes the client may request.
    #[arg(long, value_name = "SCOPES")]
    pub(crate) scope: Option<String>,
    /// Audiences the client may obtain tokens for (replaces the list).
    #[arg(long = "audience", value_name = "AUD")]
    pub(crate) audiences: Option<Vec<String>>,
    /// Whether users skip the consent page.
    #[arg(long, value_name = "BOOL")]
    pub(crate) skip_consent: Option<bool>,
    /// Whether PKCE is required (always true for public clients).
    #[arg(long, value_name = "BOOL")]
    pub(crate) require_pkce: Option<bool>,
    /// ID token signing algorithm: RS256, PS256, ES256 or EdDSA.
    #[arg(long = "id-token-signed-response-alg", alias = "id-token-alg", value_name = "ALG")]
    pub(crate) id_token_alg: Option<String>,
    /// Access token signing algorithm: RS256, PS256, ES256 or EdDSA.
    #[arg(long = "access-token-signed-response-alg", alias = "access-token-alg", value_name = "ALG")]
    pub(crate) access_token_alg: Option<String>,
    /// Whether every code exchange returns a refresh token, even without
    /// the offline_access scope.
    #[arg(long, value_name = "BOOL")]
    pub(crate) refresh_without_offline_access: Option<bool>,
    /// Audiences the client may exchange tokens for (replaces the list).
    #[arg(long = "exchange-audience", value_name = "AUD")]
    pub(crate) exchange_audiences: Option<Vec<String>>,
    /// Whether exchanged tokens may leave out the `act` claim naming this client.
    #[arg(long, value_name = "BOOL")]
    pub(crate) exchange_impersonation: Option<bool>,
    /// Whether this client may get refresh tokens by exchange.
    #[arg(long, value_name = "BOOL")]
    pub(crate) exchange_refresh_tokens: Option<bool>,
    /// Whether the user's groups go in every token of this client.
    #[arg(long, value_name = "BOOL")]
    pub(crate) always_groups_claim: Option<bool>,
    /// Replace the client secret with a new generated one, printed once.
    #[arg(long)]
    pub(crate) rotate_secret: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ClientAdd {
    /// The client_id.
    #[arg(long, value_name = "ID")]
    pub(crate) id: String,
    /// A secret of your own (at least 256 bits of randomness, e.g. 43
    /// base64url or 64 hex characters). Omit it to have one generated.
    /// A value may start with `-` (one random base64url secret in 64
    /// does); `--secret=VALUE` works too. Prefer --secret-stdin: a secret
    /// on the command line is visible to other local users.
    #[arg(
        long,
        value_name = "S",
        allow_hyphen_values = true,
        conflicts_with_all = ["public", "secret_stdin"]
    )]
    pub(crate) secret: Option<String>,
    /// Read your own secret from the first line of standard input.
    #[arg(long, conflicts_with = "public")]
    pub(crate) secret_stdin: bool,
    /// A public client (browser or native app): no secret, PKCE required.
    #[arg(long)]
    pub(crate) public: bool,
    /// Name shown to users on the consent page.
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
    /// Redirect URI, matched exactly. Repeatable.
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub(crate) redirect_uris: Vec<String>,
    /// Where the client may send users after logout. Repeatable.
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub(crate) post_logout_redirect_uris: Vec<String>,
    /// Grant type: authorization_code, refresh_token, client_credentials or
    /// urn:ietf:params:oauth:grant-type:token-exchange. Repeatable; defaults
    /// to authorization_code and refresh_token.
    #[arg(long = "grant-type", value_name = "T")]
    pub(crate) grant_types: Vec<String>,
    /// Space-separated scopes the client may request (default: openid
    /// profile email phone address offline_access groups).
    #[arg(long, value_name = "SCOPES")]
    pub(crate) scope: Option<String>,
    /// An audience (API) the client may obtain tokens for. Repeatable.
    #[arg(long = "audience", value_name = "AUD")]
    pub(crate) audiences: Vec<String>,
    /// Do not ask users to consent for this client.
    #[arg(long)]
    pub(crate) skip_consent: bool,
    /// Require PKCE even though the client is confidential.
    #[arg(long)]
    pub(crate) require_pkce: bool,
    /// How the client authenticates at the token endpoint:
    /// client_secret_basic (default), client_secret_post, private_key_jwt
    /// (with --jwks-file) or none (same as --public).
    #[arg(long, value_name = "METHOD")]
    pub(crate) token_endpoint_auth_method: Option<String>,
    /// The client's public keys (a JWK Set file), for private_key_jwt.
    #[arg(long, value_name = "FILE", conflicts_with = "jwks_uri")]
    pub(crate) jwks_file: Option<PathBuf>,
    /// Where the client publishes its public keys (https; http only on
    /// loopback), for private_key_jwt. Fetched when needed, so the client
    /// can rotate its keys by itself.
    #[arg(long, value_name = "URL")]
    pub(crate) jwks_uri: Option<String>,
    /// ID token signing algorithm: RS256, PS256, ES256 or EdDSA.
    #[arg(
        long = "id-token-signed-response-alg",
        alias = "id-token-alg",
        value_name = "ALG",
        default_value = "RS256"
    )]
    pub(crate) id_token_alg: String,
    /// Access token signing algorithm: RS256, PS256, ES256 or EdDSA.
    #[arg(
        long = "access-token-signed-response-alg",
        alias = "access-token-alg",
        value_name = "ALG",
        default_value = "RS256"
    )]
    pub(crate) access_token_alg: String,
    /// Return a refresh token with every code exchange, even when the user
    /// was not asked for offline_access.
    #[arg(long)]
    pub(crate) refresh_without_offline_access: bool,
    /// An audience (API) the client may exchange tokens for (RFC 8693; needs
    /// the token exchange grant). Repeatable.
    #[arg(long = "exchange-audience", value_name = "AUD")]
    pub(crate) exchange_audiences: Vec<String>,
    /// Let exchanged tokens leave out the `act` claim naming this client
    /// (impersonation) when no actor token is given.
    #[arg(long)]
    pub(crate) exchange_impersonation: bool,
    /// Let this client get refresh tokens by token exchange.
    #[arg(long)]
    pub(crate) exchange_refresh_tokens: bool,
    /// Put the user's groups in this client's tokens even when it does not
    /// ask for the groups scope.
    #[arg(long)]
    pub(crate) always_groups_claim: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Start signing with the published next key, retire the current one,
    /// and publish a new next key. Running servers pick it up without a restart.
    Rotate,
    /// List signing keys and their states.
    List(Output),
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// List audit events, newest first.
    List(AuditList),
}

#[derive(Debug, Args)]
pub(crate) struct AuditList {
    /// Only this kind: sign_in, scim_write, admin_decision or password_reset.
    #[arg(long, value_name = "KIND", value_parser = crate::audit_commands::parse_kind)]
    pub(crate) kind: Option<sigil_store::audit::Kind>,
    /// Only this actor (a user or client id, or a username as typed).
    #[arg(long, value_name = "ACTOR")]
    pub(crate) actor: Option<String>,
    /// Only this outcome, e.g. success, bad_password, denied.
    #[arg(long, value_name = "OUTCOME")]
    pub(crate) outcome: Option<String>,
    /// At or after this time (RFC 3339, or a date: its midnight UTC).
    #[arg(long, value_name = "TIME", value_parser = crate::audit_commands::parse_time)]
    pub(crate) since: Option<chrono::NaiveDateTime>,
    /// Before this time (RFC 3339, or a date).
    #[arg(long, value_name = "TIME", value_parser = crate::audit_commands::parse_time)]
    pub(crate) until: Option<chrono::NaiveDateTime>,
    /// At most this many events (up to 500).
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=500))]
    pub(crate) limit: u32,
    #[command(flatten)]
    pub(crate) output: Output,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Make an API token for a confidential client, with some of the
    /// SCIM and admin scopes it is registered for. The token is printed
    /// once: Sigil keeps only its SHA-256 digest.
    Create(TokenCreate),
    /// List API tokens: id, client, scopes, dates and state, never the
    /// tokens themselves.
    List {
        /// Only this client's tokens.
        #[arg(long, value_name = "ID")]
        client: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Revoke an API token; every node refuses it from its next request.
    Revoke {
        /// The token's id, as `sigil token list` shows it.
        #[arg(long, value_name = "TOKEN_ID")]
        id: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct TokenCreate {
    /// The client (client_id) the token acts as, with its built-in roles.
    #[arg(long, value_name = "ID")]
    pub(crate) client: String,
    /// Space-separated scopes: scim:read, scim:write, admin.
    #[arg(long, value_name = "SCOPES")]
    pub(crate) scope: String,
    /// Lifetime: a number and a unit (s, m, h, d), e.g. 90d. Default 365d,
    /// at most 730d.
    #[arg(long, value_name = "DURATION")]
    pub(crate) expires_in: Option<String>,
    /// What to call the token, e.g. "Entra ID provisioning".
    #[arg(long, value_name = "TEXT")]
    pub(crate) name: Option<String>,
}

/// Writes the completion script for `shell` on stdout, generated from the
/// command definitions above so it can never fall behind them.
/// A closed pipe (`sigil completions bash | head`) is an error, not a panic.
pub(crate) fn print_completions(shell: Shell) -> std::io::Result<()> {
    use std::io::Write;

    use clap::CommandFactory;
    use clap_complete::{Shell as Target, generate};
    let target = match shell {
        Shell::Bash => Target::Bash,
        Shell::Zsh => Target::Zsh,
        Shell::Fish => Target::Fish,
    };
    let mut script = Vec::new();
    generate(target, &mut Cli::command(), "sigil", &mut script);
    std::io::stdout().lock().write_all(&script)
}
