//! Diesel's view of the tables in `migrations/` (both flavours declare the same
//! columns). Written by hand to match the migrations; the `schema_matches_migrations`
//! store test selects every declared column of every table on both backends,
//! so the two cannot drift apart unnoticed.

diesel::table! {
    users (id) {
        id -> Text,
        user_name -> Text,
        user_name_folded -> Text,
        external_id -> Nullable<Text>,
        name_formatted -> Nullable<Text>,
        family_name -> Nullable<Text>,
        given_name -> Nullable<Text>,
        middle_name -> Nullable<Text>,
        honorific_prefix -> Nullable<Text>,
        honorific_suffix -> Nullable<Text>,
        display_name -> Nullable<Text>,
        nick_name -> Nullable<Text>,
        profile_url -> Nullable<Text>,
        title -> Nullable<Text>,
        user_type -> Nullable<Text>,
        preferred_language -> Nullable<Text>,
        locale -> Nullable<Text>,
        timezone -> Nullable<Text>,
        active -> Bool,
        password_hash -> Nullable<Text>,
        employee_number -> Nullable<Text>,
        cost_center -> Nullable<Text>,
        organization -> Nullable<Text>,
        division -> Nullable<Text>,
        department -> Nullable<Text>,
        manager_id -> Nullable<Text>,
        created -> Timestamp,
        last_modified -> Timestamp,
        version -> BigInt,
        active_assigned -> Bool,
    }
}

diesel::table! {
    user_values (user_id, attribute, position) {
        user_id -> Text,
        attribute -> Text,
        position -> BigInt,
        value -> Text,
        value_folded -> Text,
        display -> Nullable<Text>,
        #[sql_name = "type"]
        value_type -> Nullable<Text>,
        is_primary -> Bool,
        display_folded -> Nullable<Text>,
        type_folded -> Nullable<Text>,
    }
}

diesel::table! {
    user_addresses (user_id, position) {
        user_id -> Text,
        position -> BigInt,
        formatted -> Nullable<Text>,
        street_address -> Nullable<Text>,
        locality -> Nullable<Text>,
        region -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        country -> Nullable<Text>,
        #[sql_name = "type"]
        address_type -> Nullable<Text>,
        is_primary -> Bool,
        formatted_folded -> Nullable<Text>,
        street_address_folded -> Nullable<Text>,
        locality_folded -> Nullable<Text>,
        region_folded -> Nullable<Text>,
        postal_code_folded -> Nullable<Text>,
        country_folded -> Nullable<Text>,
        type_folded -> Nullable<Text>,
    }
}

diesel::table! {
    user_search_terms (user_id, attribute) {
        user_id -> Text,
        attribute -> Text,
        value_folded -> Text,
    }
}

diesel::table! {
    groups (id) {
        id -> Text,
        display_name -> Text,
        display_name_folded -> Text,
        external_id -> Nullable<Text>,
        created -> Timestamp,
        last_modified -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    group_members (group_id, member_id) {
        group_id -> Text,
        member_id -> Text,
        member_user_id -> Nullable<Text>,
        member_group_id -> Nullable<Text>,
        position -> BigInt,
    }
}

diesel::table! {
    clients (id) {
        id -> Text,
        name -> Nullable<Text>,
        secret_hash -> Nullable<Text>,
        is_public -> Bool,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        grant_types -> Text,
        scopes -> Text,
        audiences -> Text,
        token_endpoint_auth_method -> Text,
        id_token_signed_response_alg -> Text,
        require_pkce -> Bool,
        skip_consent -> Bool,
        jwks -> Nullable<Text>,
        created -> Timestamp,
        last_modified -> Timestamp,
        access_token_signed_response_alg -> Text,
        refresh_without_offline_access -> Bool,
        jwks_uri -> Nullable<Text>,
        exchange_audiences -> Text,
        exchange_impersonation -> Bool,
        exchange_refresh_tokens -> Bool,
        always_groups_claim -> Bool,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        state -> Text,
        private_pem -> Text,
        public_jwk -> Text,
        created -> Timestamp,
        activated_at -> Nullable<Timestamp>,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Text,
        user_id -> Text,
        auth_time -> Timestamp,
        amr -> Text,
        created -> Timestamp,
        expires_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    authorization_codes (code_hash) {
        code_hash -> Text,
        client_id -> Text,
        user_id -> Text,
        session_id_hash -> Nullable<Text>,
        redirect_uri -> Text,
        scope -> Text,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        code_challenge_method -> Nullable<Text>,
        auth_time -> Timestamp,
        created -> Timestamp,
        expires_at -> Timestamp,
        redeemed_at -> Nullable<Timestamp>,
        grant_id -> Text,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        family_id -> Text,
        client_id -> Text,
        user_id -> Nullable<Text>,
        scope -> Text,
        session_id_hash -> Nullable<Text>,
        auth_time -> Nullable<Timestamp>,
        created -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    consents (user_id, client_id) {
        user_id -> Text,
        client_id -> Text,
        scope -> Text,
        created -> Timestamp,
        last_modified -> Timestamp,
    }
}

diesel::table! {
    revoked_tokens (jti) {
        jti -> Text,
        reason -> Text,
        grant_id -> Nullable<Text>,
        revoked_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    throttle (throttle_key) {
        throttle_key -> Text,
        failures -> BigInt,
        window_start -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    roles (id) {
        id -> Text,
        client_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        created -> Timestamp,
        name_folded -> Text,
        client_id_folded -> Text,
    }
}

diesel::table! {
    role_grants (role_id, holder_id) {
        role_id -> Text,
        holder_id -> Text,
        user_id -> Nullable<Text>,
        group_id -> Nullable<Text>,
        created -> Timestamp,
    }
}

diesel::table! {
    admin_grants (role, holder) {
        role -> Text,
        holder -> Text,
        user_id -> Nullable<Text>,
        group_id -> Nullable<Text>,
        client_id -> Nullable<Text>,
        created -> Timestamp,
    }
}

diesel::table! {
    server_secrets (purpose) {
        purpose -> Text,
        secret -> Text,
        created -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        client_id -> Text,
        token_hash -> Text,
        scope -> Text,
        name -> Nullable<Text>,
        created -> Timestamp,
        expires_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        at -> Timestamp,
        kind -> Text,
        actor -> Nullable<Text>,
        client_id -> Nullable<Text>,
        address -> Nullable<Text>,
        operation -> Text,
        resource_type -> Nullable<Text>,
        resource_id -> Nullable<Text>,
        method -> Nullable<Text>,
        outcome -> Text,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    password_resets (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        created -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(user_values -> users (user_id));
diesel::joinable!(user_addresses -> users (user_id));
diesel::joinable!(user_search_terms -> users (user_id));
diesel::joinable!(group_members -> groups (group_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(password_resets -> users (user_id));
diesel::joinable!(consents -> users (user_id));
diesel::joinable!(consents -> clients (client_id));
diesel::joinable!(role_grants -> roles (role_id));
diesel::joinable!(roles -> clients (client_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    user_values,
    user_addresses,
    user_search_terms,
    groups,
    group_members,
    clients,
    signing_keys,
    sessions,
    authorization_codes,
    refresh_tokens,
    consents,
    revoked_tokens,
    throttle,
    roles,
    role_grants,
    admin_grants,
    server_secrets,
    api_tokens,
    audit_events,
    password_resets,
);
