use super::*;

/// The matrix rows of `docs/authorization.md`: name, scopes cell, and
/// one allowed flag per role column.
fn documented() -> Vec<(String, String, Vec<bool>)> {
    let page = include_str!("../../../docs/authorization.md");
    page.lines()
        .filter(|line| line.starts_with("| `scim.") || line.starts_with("| `admin."))
        .map(|line| {
            // `\|` inside a cell is an escaped bar, not a column.
            let cells: Vec<String> =
                line.replace("\\|", "/").split('|').map(|c| c.trim().to_owned()).collect();
            let name = cells[1].trim_matches('`').to_owned();
            let flags = cells[4..8]
                .iter()
                .map(|c| match c.as_str() {
                    "✔️" => true,
                    "❌" => false,
                    other => panic!("`{other}` in the row of {name} is neither ✔️ nor ❌"),
                })
                .collect();
            (name, cells[3].clone(), flags)
        })
        .collect()
}

#[test]
fn the_documented_matrix_is_the_table() {
    let rows = documented();
    assert_eq!(rows.len(), RIGHTS.len(), "one documented row per operation");
    for (right, (name, scopes, flags)) in RIGHTS.iter().zip(&rows) {
        assert_eq!(right.name, name, "rows in the same order");
        let documented_scopes: Vec<&str> = scopes.split_whitespace().map(|s| s.trim_matches('`')).collect();
        assert_eq!(right.scopes.any_of(), documented_scopes.as_slice(), "scopes of {name}");
        for (role, allowed) in Role::ALL.iter().zip(flags) {
            assert_eq!(right.roles.contains(role), *allowed, "{role} on {name}");
        }
    }
}

#[test]
fn a_request_needs_a_scope_and_a_role() {
    let auditor = [Role::Auditor];
    assert_eq!(check(Operation::ScimUsersRead, &["scim:read"], &auditor), Ok(()));
    assert_eq!(check(Operation::ScimUsersRead, &["admin"], &auditor), Ok(()));
    assert_eq!(check(Operation::ScimUsersCreate, &["scim:write"], &auditor), Err(Refusal::Role));
    assert_eq!(
        check(Operation::ScimUsersCreate, &["scim:read"], &[Role::UserAdmin]),
        Err(Refusal::Scope("scim:write"))
    );
    assert_eq!(
        check(Operation::KeysRotate, &["scim:write"], &[Role::PlatformOperator]),
        Err(Refusal::Scope("admin"))
    );
    assert_eq!(check(Operation::KeysRotate, &["admin"], &[Role::PlatformOperator]), Ok(()));
    assert_eq!(check(Operation::ScimGroupsRead, &["scim:read"], &[]), Err(Refusal::Role));
    let no_scopes: [&str; 0] = [];
    assert_eq!(
        check(Operation::ScimDiscovery, &no_scopes, &[Role::PlatformOperator]),
        Err(Refusal::Scope("scim:read"))
    );
}

#[test]
fn role_names_round_trip() {
    for role in Role::ALL {
        assert_eq!(role.as_str().parse::<Role>(), Ok(role));
    }
    assert!("admin".parse::<Role>().is_err());
}

#[test]
fn the_platform_operator_may_do_everything() {
    assert!(RIGHTS.iter().all(|r| r.roles.contains(&Role::PlatformOperator)));
}

#[test]
fn api_scopes_are_every_scope_the_table_names() {
    let mut named: Vec<&str> = RIGHTS.iter().flat_map(|r| r.scopes.any_of().iter().copied()).collect();
    named.sort_unstable();
    named.dedup();
    let mut listed = API_SCOPES.to_vec();
    listed.sort_unstable();
    assert_eq!(named, listed);
}
