//! Table-driven parser tests: valid filters with their trees, invalid ones
//! with the position and wording of their errors.

use scim_filter_parser::CompareOp::*;
use scim_filter_parser::{CompareValue, Error, Filter, Name, parse_filter};

use crate::build::*;

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn check(input: &str, expected: Filter) {
    match parse_filter(input) {
        Ok(f) => {
            assert_eq!(f, expected, "tree of {input:?}");
            let printed = f.to_string();
            assert_eq!(parse_filter(&printed), Ok(f), "reparse of {printed:?} from {input:?}");
        }
        Err(e) => panic!("{input:?} should parse: {e}"),
    }
}

fn check_canonical(input: &str, canonical: &str) {
    let f = parse_filter(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
    assert_eq!(f.to_string(), canonical, "canonical form of {input:?}");
}

/// `position` is a byte offset; `expected` a fragment of the message.
fn check_err(input: &str, position: usize, expected: &str) {
    match parse_filter(input) {
        Ok(f) => panic!("{input:?} should fail, parsed as {f:?}"),
        Err(e @ Error::Syntax { .. }) => {
            assert_eq!(e.position(), Some(position), "position for {input:?}: {e}");
            assert!(e.detail().contains(expected), "detail for {input:?}: {e}");
            assert_eq!(e.scim_type(), "invalidFilter");
        }
        Err(e) => panic!("{input:?}: unexpected error {e:?}"),
    }
}

/// A `check` that builds the canonical tree, for lines that differ only in
/// spelling.
fn same(input: &str, like: &str) {
    let expected = parse_filter(like).unwrap_or_else(|e| panic!("{like:?}: {e}"));
    check(input, expected);
}

#[test]
fn operators_every_one_and_any_case() {
    for (word, op) in [
        ("eq", Eq),
        ("ne", Ne),
        ("co", Co),
        ("sw", Sw),
        ("ew", Ew),
        ("gt", Gt),
        ("lt", Lt),
        ("ge", Ge),
        ("le", Le),
    ] {
        check(&format!("userName {word} \"x\""), c("userName", op, s("x")));
        let upper = word.to_uppercase();
        check(&format!("userName {upper} \"x\""), c("userName", op, s("x")));
    }
    check("title PR", pr("title"));
    check("title Pr", pr("title"));
}

#[test]
fn literals() {
    check("a eq true", c("a", Eq, CompareValue::Bool(true)));
    check("a eq false", c("a", Eq, CompareValue::Bool(false)));
    check("a eq null", c("a", Eq, CompareValue::Null));
    check("a eq TRUE", c("a", Eq, CompareValue::Bool(true)));
    check("a eq Null", c("a", Eq, CompareValue::Null));
    check("a eq 0", c("a", Eq, n("0")));
    check("a eq -0", c("a", Eq, n("-0")));
    check("a gt 42", c("a", Gt, n("42")));
    check("a gt -1.50", c("a", Gt, n("-1.50")));
    check("a gt 6.02e23", c("a", Gt, n("6.02e23")));
    check("a gt 1E-7", c("a", Gt, n("1E-7")));
    check("a gt 1e+7", c("a", Gt, n("1e+7")));
    check("a gt 123456789012345678901234567890", c("a", Gt, n("123456789012345678901234567890")));
    check(r#"a eq """#, c("a", Eq, s("")));
    check(r#"a eq "Ünïcödé ✓ 😀""#, c("a", Eq, s("Ünïcödé ✓ 😀")));
    check(r#"a eq "q\" b\\ s\/ \b\f\n\r\t""#, c("a", Eq, s("q\" b\\ s/ \u{8}\u{c}\n\r\t")));
    check(r#"a eq "\u0041\u00e9\u20AC""#, c("a", Eq, s("Aé€")));
    check(r#"a eq "\ud83d\ude00""#, c("a", Eq, s("😀")));
    check(r#"a eq "\u0000""#, c("a", Eq, s("\0")));
    check(r#"a eq "and or not ( ) [ ] pr""#, c("a", Eq, s("and or not ( ) [ ] pr")));
    check(r#"userName eq "BJensen""#, c("userName", Eq, s("BJensen")));
}

#[test]
fn attribute_paths() {
    check("userName pr", pr("userName"));
    check("USERNAME pr", pr("username"));
    check("name.givenName pr", pr("name.givenName"));
    check("a-b_c9 pr", pr("a-b_c9"));
    check("members.$ref pr", pr("members.$ref"));
    check("$ref pr", pr("$ref"));
    check(
        &format!("{ENT}:employeeNumber eq \"701984\""),
        c(&format!("{ENT}:employeeNumber"), Eq, s("701984")),
    );
    check(&format!("{ENT}:manager.value eq \"x\""), c(&format!("{ENT}:manager.value"), Eq, s("x")));
    check("urn:a:b pr", pr("urn:a:b"));
    // URNs are compared case-insensitively like names.
    same(&format!("{}:MANAGER.Value pr", ENT.to_uppercase()), &format!("{ENT}:manager.value pr"));
    let p = path(&format!("{ENT}:manager.value"));
    assert_eq!(p.urn.as_ref().map(Name::as_str), Some(ENT));
    assert_eq!(p.name.as_str(), "manager");
    assert_eq!(p.sub_attr.as_ref().map(Name::as_str), Some("value"));
    // "not" and "and" are only keywords where the grammar puts them.
    check("not pr", pr("not"));
    check("and eq 1 and or pr", and(c("and", Eq, n("1")), pr("or")));
    check("notes pr", pr("notes"));
    check("not eq \"x\"", c("not", Eq, s("x")));
}

#[test]
fn logic_and_precedence() {
    check("a pr and b pr", and(pr("a"), pr("b")));
    check("a pr or b pr", or(pr("a"), pr("b")));
    check("a pr AND b pr Or c pr", or(and(pr("a"), pr("b")), pr("c")));
    check("a pr or b pr and c pr", or(pr("a"), and(pr("b"), pr("c"))));
    check("a pr and b pr and c pr", and(and(pr("a"), pr("b")), pr("c")));
    check("a pr or b pr or c pr", or(or(pr("a"), pr("b")), pr("c")));
    check("a pr and (b pr or c pr)", and(pr("a"), or(pr("b"), pr("c"))));
    check("(a pr or b pr) and c pr", and(or(pr("a"), pr("b")), pr("c")));
    check("a pr and (b pr and c pr)", and(pr("a"), and(pr("b"), pr("c"))));
    check("((a pr))", pr("a"));
    check("not (a pr)", not(pr("a")));
    check("not(a pr)", not(pr("a")));
    check("NOT  (a pr)", not(pr("a")));
    check("not (a pr) and b pr", and(not(pr("a")), pr("b")));
    check("not (not (a pr or b pr))", not(not(or(pr("a"), pr("b")))));
    check("a pr and not (b pr)", and(pr("a"), not(pr("b"))));
    check("a pr and(b pr)", and(pr("a"), pr("b")));
    check("  a pr  \t and\n b pr  ", and(pr("a"), pr("b")));
    check("( a pr )", pr("a"));
}

#[test]
fn value_paths() {
    check(r#"emails[type eq "work"]"#, vp("emails", c("type", Eq, s("work"))));
    check(
        r#"emails[type eq "work" and value co "@example.org"]"#,
        vp("emails", and(c("type", Eq, s("work")), c("value", Co, s("@example.org")))),
    );
    check(
        r#"emails[not (type eq "work") or (primary eq true)]"#,
        vp("emails", or(not(c("type", Eq, s("work"))), c("primary", Eq, CompareValue::Bool(true)))),
    );
    check(r#"emails[ type pr ]"#, vp("emails", pr("type")));
    check(&format!("{ENT}:manager[value eq \"x\"]"), vp(&format!("{ENT}:manager"), c("value", Eq, s("x"))));
    check(
        r#"not (emails[type eq "work"]) and ims[value pr]"#,
        and(not(vp("emails", c("type", Eq, s("work")))), vp("ims", pr("value"))),
    );
}

#[test]
fn entra_id_value_path_with_sub_attribute() {
    // Not in the RFC's grammar, sent by Microsoft Entra ID: folded into the
    // value filter as a conjunction.
    check(
        r#"emails[type eq "work"].value eq "user@example.com""#,
        vp("emails", and(c("type", Eq, s("work")), c("value", Eq, s("user@example.com")))),
    );
    check(
        r#"emails[type eq "work" or primary eq true].value pr and userName pr"#,
        and(
            vp(
                "emails",
                and(or(c("type", Eq, s("work")), c("primary", Eq, CompareValue::Bool(true))), pr("value")),
            ),
            pr("userName"),
        ),
    );
    check_canonical(r#"emails[type eq "work"].value eq "x""#, r#"emails[type eq "work" and value eq "x"]"#);
}

#[test]
fn canonical_forms() {
    check_canonical("userName EQ \"x\"", r#"userName eq "x""#);
    check_canonical("  (a pr)  ", "a pr");
    check_canonical("(a pr and b pr) and c pr", "a pr and b pr and c pr");
    check_canonical("a pr and (b pr and c pr)", "a pr and (b pr and c pr)");
    check_canonical("(a pr or b pr) or c pr", "a pr or b pr or c pr");
    check_canonical("a pr or (b pr or c pr)", "a pr or (b pr or c pr)");
    check_canonical("a pr or (b pr and c pr)", "a pr or b pr and c pr");
    check_canonical("(a pr and b pr) or c pr", "a pr and b pr or c pr");
    check_canonical("(a pr or b pr) and c pr", "(a pr or b pr) and c pr");
    check_canonical("not(a pr)", "not (a pr)");
    check_canonical(r#"a eq "\/\u0041\u001f\u007f""#, "a eq \"/A\\u001f\u{7f}\"");
    check_canonical("a eq TRUE", "a eq true");
    check_canonical("a eq 1.50E+2", "a eq 1.50E+2");
    check_canonical("UserName Pr", "UserName pr");
}

#[test]
fn invalid_filters() {
    let op = "expected an operator (eq, ne, co, sw, ew, gt, lt, ge, le or pr)";
    let value = "expected a value";
    check_err("", 0, "expected an attribute name");
    check_err("   ", 3, "expected an attribute name");
    check_err("userName", 8, op);
    check_err("userName ", 9, op);
    check_err(r#"userName eqq "bjensen""#, 9, op);
    check_err(r#"userName == "bjensen""#, 9, op);
    check_err(r#"userName eq"bjensen""#, 11, "a space and then a value");
    check_err("userName eq ", 12, value);
    check_err("userName eq bjensen", 12, "strings need double quotes");
    check_err("userName eq 'bjensen'", 12, value);
    check_err(r#"userName eq "bjensen"#, 20, "'\"' to close the string");
    check_err(r#"userName eq "a\x""#, 14, "an escape");
    check_err(r#"userName eq "a\u12""#, 14, "four hex digits");
    check_err(r#"userName eq "\ud800""#, 13, "high surrogate");
    check_err(r#"userName eq "\ud800\u0041""#, 13, "high surrogate");
    check_err(r#"userName eq "\udc00""#, 13, "unpaired low surrogate");
    check_err("userName eq \"a\tb\"", 14, "control characters must be escaped");
    check_err("a eq 01", 6, "after the value");
    check_err("a eq 1.", 5, "a JSON number");
    check_err("a eq 1e", 5, "a JSON number");
    check_err("a eq -", 5, "a JSON number");
    check_err("a eq +1", 5, value);
    check_err("a eq .5", 5, value);
    check_err("a eq 12abc", 7, "after the value");
    check_err(r#"a eq "x""y""#, 8, "after the value");
    check_err("a eq truex", 5, "strings need double quotes");
    check_err("title prx", 6, op);
    check_err("title pr(", 8, "after 'pr'");
    check_err("title pr and", 12, "an attribute path, 'not' or '(' after 'and'");
    check_err("title pr and ", 13, "after 'and'");
    check_err("title pr or\t", 12, "after 'or'");
    check_err("title pr or or b pr", 15, op);
    check_err("title pr xor b pr", 9, "'and', 'or' or the end of the filter");
    check_err("title pr andb pr", 9, "'and', 'or' or the end of the filter");
    check_err("title pr)", 8, "'and', 'or' or the end of the filter");
    check_err("(title pr", 9, "'and', 'or' or ')'");
    check_err("()", 1, "expected an attribute name");
    check_err("not title pr", 4, op);
    check_err("not (title pr", 13, "'and', 'or' or ')'");
    check_err("1abc pr", 0, "expected an attribute name");
    check_err("user@name pr", 4, "in the attribute path");
    check_err("a.b.c pr", 3, "one sub-attribute at most");
    check_err("a. pr", 2, "expected an attribute name");
    check_err("a..b pr", 2, "expected an attribute name");
    check_err("urn:x: pr", 6, "after the schema URI");
    check_err(":a pr", 0, "expected an attribute name");
    check_err("urn:x y:a pr", 6, op);
    check_err("urn:x^y:a pr", 5, "a schema URI character");
    check_err("émail pr", 0, "expected an attribute name");
    check_err("emails[type eq \"work\"", 21, "'and', 'or' or ']'");
    check_err("emails[]", 7, "expected an attribute name");
    check_err("emails[type eq \"work\"]]", 22, "'and', 'or' or the end of the filter");
    check_err("emails[a[b pr]]", 8, "value filters cannot be nested");
    check_err("emails[x.y pr]", 7, "complex attributes do not nest");
    check_err("emails[urn:x:y pr]", 7, "without a schema URN");
    check_err("name.givenName[a pr]", 0, "without a sub-attribute before '['");
    check_err("emails[type pr].", 16, "expected an attribute name");
    check_err("emails[type pr].value", 21, op);
    check_err("emails[type pr] eq \"x\"", 16, "'and', 'or' or the end of the filter");
    check_err("a pr\u{0}", 4, "after 'pr'");
}
