//! Registered OAuth clients, stored as given. What the fields mean and
//! which values are allowed is decided by the OIDC layer; the store keeps
//! them and hands them back whole.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::error::StoreError;
use crate::schema::clients;
use crate::secret::HashedSecret;

/// A client as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// The `client_id`.
    pub id: String,
    /// A name to show users on the consent page.
    pub name: Option<String>,
    /// Digest of the client secret; `None` for a public client or one that
    /// authenticates with a key.
    pub secret_hash: Option<HashedSecret>,
    /// Public clients cannot keep a secret (browser and native apps).
    pub is_public: bool,
    /// Redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// Where the client may ask to be sent after logout.
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant types the client may use.
    pub grant_types: Vec<String>,
    /// Scopes the client may request.
    pub scopes: Vec<String>,
    /// Audiences (resource servers) the client may obtain tokens for.
    pub audiences: Vec<String>,
    /// How the client authenticates at the token endpoint.
    pub token_endpoint_auth_method: String,
    /// Algorithm of the client's ID tokens.
    pub id_token_signed_response_alg: String,
    /// Whether the client must use PKCE even if confidential.
    pub require_pkce: bool,
    /// Whether users are not asked to consent for this client.
    pub skip_consent: bool,
    /// The client's public keys (a JWK Set), for `private_key_jwt`.
    pub jwks: Option<String>,
    /// Where the client publishes its JWK Set, for `private_key_jwt`.
    pub jwks_uri: Option<String>,
    /// Algorithm of the client's access tokens.
    pub access_token_signed_response_alg: String,
    /// Whether refresh tokens are issued with every authorization code
    /// exchange, not only when `offline_access` was granted.
    pub refresh_without_offline_access: bool,
    /// Audiences the client may exchange tokens for (RFC 8693).
    pub exchange_audiences: Vec<String>,
    /// Whether an exchange may issue a token that does not name the client
    /// as actor (impersonation, RFC 8693 §1.1).
    pub exchange_impersonation: bool,
    /// Whether an exchange may issue refresh tokens.
    pub exchange_refresh_tokens: bool,
    /// Whether the client's tokens carry the user's groups even without the
    /// `groups` scope.
    pub always_groups_claim: bool,
    /// When the client was registered.
    pub created: NaiveDateTime,
    /// When it last changed.
    pub last_modified: NaiveDateTime,
}

impl Client {
    /// A public client with nothing allowed yet, for callers that fill in
    /// the rest; the rules a registration must follow are the OIDC layer's.
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            name: None,
            secret_hash: None,
            is_public: true,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            grant_types: Vec::new(),
            scopes: Vec::new(),
            audiences: Vec::new(),
            token_endpoint_auth_method: "none".into(),
            id_token_signed_response_alg: "RS256".into(),
            require_pkce: true,
            skip_consent: false,
            jwks: None,
            jwks_uri: None,
            access_token_signed_response_alg: "RS256".into(),
            refresh_without_offline_access: false,
            exchange_audiences: Vec::new(),
            exchange_impersonation: false,
            exchange_refresh_tokens: false,
            always_groups_claim: false,
            created: NaiveDateTime::default(),
            last_modified: NaiveDateTime::default(),
        }
    }
}

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = clients, treat_none_as_null = true)]
struct ClientRow {
    id: String,
    name: Option<String>,
    secret_hash: Option<String>,
    is_public: bool,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    grant_types: String,
    scopes: String,
    audiences: String,
    token_endpoint_auth_method: String,
    id_token_signed_response_alg: String,
    require_pkce: bool,
    skip_consent: bool,
    jwks: Option<String>,
    created: NaiveDateTime,
    last_modified: NaiveDateTime,
    access_token_signed_response_alg: String,
    refresh_without_offline_access: bool,
    jwks_uri: Option<String>,
    exchange_audiences: String,
    exchange_impersonation: bool,
    exchange_refresh_tokens: bool,
    always_groups_claim: bool,
}

fn encode_list(list: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(list).map_err(|e| StoreError::Other(e.to_string()))
}

pub(crate) fn decode_list(column: &str, raw: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(raw)
        .map_err(|e| StoreError::Other(format!("clients.{column} is not a JSON list: {e}")))
}

impl ClientRow {
    fn from_client(client: &Client) -> Result<Self, StoreError> {
        Ok(Self {
            id: client.id.clone(),
            name: client.name.clone(),
            secret_hash: client.secret_hash.as_ref().map(|h| h.as_str().to_owned()),
            is_public: client.is_public,
            redirect_uris: encode_list(&client.redirect_uris)?,
            post_logout_redirect_uris: encode_list(&client.post_logout_redirect_uris)?,
            grant_types: encode_list(&client.grant_types)?,
            scopes: encode_list(&client.scopes)?,
            audiences: encode_list(&client.audiences)?,
            token_endpoint_auth_method: client.token_endpoint_auth_method.clone(),
            id_token_signed_response_alg: client.id_token_signed_response_alg.clone(),
            require_pkce: client.require_pkce,
            skip_consent: client.skip_consent,
            jwks: client.jwks.clone(),
            created: client.created,
            last_modified: client.last_modified,
            access_token_signed_response_alg: client.access_token_signed_response_alg.clone(),
            refresh_without_offline_access: client.refresh_without_offline_access,
            jwks_uri: client.jwks_uri.clone(),
            exchange_audiences: encode_list(&client.exchange_audiences)?,
            exchange_impersonation: client.exchange_impersonation,
            exchange_refresh_tokens: client.exchange_refresh_tokens,
            always_groups_claim: client.always_groups_claim,
        })
    }

    fn into_client(self) -> Result<Client, StoreError> {
        Ok(Client {
            redirect_uris: decode_list("redirect_uris", &self.redirect_uris)?,
            post_logout_redirect_uris: decode_list(
                "post_logout_redirect_uris",
                &self.post_logout_redirect_uris,
            )?,
            grant_types: decode_list("grant_types", &self.grant_types)?,
            scopes: decode_list("scopes", &self.scopes)?,
            audiences: decode_list("audiences", &self.audiences)?,
            exchange_audiences: decode_list("exchange_audiences", &self.exchange_audiences)?,
            exchange_impersonation: self.exchange_impersonation,
            exchange_refresh_tokens: self.exchange_refresh_tokens,
            always_groups_claim: self.always_groups_claim,
            id: self.id,
            name: self.name,
            secret_hash: self.secret_hash.map(HashedSecret::from_stored),
            is_public: self.is_public,
            token_endpoint_auth_method: self.token_endpoint_auth_method,
            id_token_signed_response_alg: self.id_token_signed_response_alg,
            require_pkce: self.require_pkce,
            skip_consent: self.skip_consent,
            jwks: self.jwks,
            jwks_uri: self.jwks_uri,
            access_token_signed_response_alg: self.access_token_signed_response_alg,
            refresh_without_offline_access: self.refresh_without_offline_access,
            created: self.created,
            last_modified: self.last_modified,
        })
    }
}

/// Stores a new client; [`StoreError::Conflict`] if the id is taken.
pub fn insert(
    conn: &mut AnyConnection,
    mut client: Client,
    now: NaiveDateTime,
) -> Result<Client, StoreError> {
    client.created = now;
    client.last_modified = now;
    diesel::insert_into(clients::table).values(ClientRow::from_client(&client)?).execute(conn)?;
    Ok(client)
}

/// Replaces a stored client's settings (same id); keeps its creation time.
pub fn update(
    conn: &mut AnyConnection,
    mut client: Client,
    now: NaiveDateTime,
) -> Result<Client, StoreError> {
    let created: NaiveDateTime = clients::table.find(&client.id).select(clients::created).first(conn)?;
    client.created = created;
    client.last_modified = now;
    diesel::update(clients::table.find(&client.id)).set(ClientRow::from_client(&client)?).execute(conn)?;
    Ok(client)
}

/// Takes the client's row lock until the transaction ends, so a
/// read-modify-write of it (an admin PATCH, `sigil client update`) cannot
/// lose another writer's change under PostgreSQL's READ COMMITTED.
/// `NotFound` when there is no such client.
pub fn lock(conn: &mut AnyConnection, id: &str) -> Result<(), StoreError> {
    // A no-op UPDATE: the one row lock both backends accept through one query.
    let locked = diesel::update(clients::table.find(id))
        .set(clients::last_modified.eq(clients::last_modified))
        .execute(conn)?;
    if locked == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The client with this id: one statement, by primary key.
pub fn get(conn: &mut AnyConnection, id: &str) -> Result<Client, StoreError> {
    let row: ClientRow = crate::db::on_backend!(conn, |c| {
        clients::table.find(id).select(ClientRow::as_select()).get_result(c)
    })?;
    row.into_client()
}

/// Every client, by id.
pub fn list(conn: &mut AnyConnection) -> Result<Vec<Client>, StoreError> {
    clients::table
        .order(clients::id.asc())
        .select(ClientRow::as_select())
        .load(conn)?
        .into_iter()
        .map(ClientRow::into_client)
        .collect()
}

/// Removes a client and every grant made to it; reports whether it existed.
pub fn delete(conn: &mut AnyConnection, id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(clients::table.find(id)).execute(conn)? > 0)
}
