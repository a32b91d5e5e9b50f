//! Parse and evaluate throughput. The filters live in `filters.txt`, which
//! `compare_python.sh` times with the Python `scim2-filter-parser` too.

// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scim_filter_parser::{Matcher, Schema, parse_filter, parse_path};
use serde_json::json;

const FILTERS: &str = include_str!("filters.txt");

fn filters() -> impl Iterator<Item = (&'static str, &'static str)> {
    FILTERS.lines().filter_map(|l| l.split_once('\t'))
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for (name, filter) in filters() {
        group.throughput(Throughput::Elements(1));
        group.bench_function(name, |b| b.iter(|| parse_filter(black_box(filter))));
    }
    group.bench_function("patch_path", |b| {
        b.iter(|| {
            parse_path(black_box(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"].display"#))
        });
    });
    group.finish();
}

fn evaluate(c: &mut Criterion) {
    let schema = Schema::user();
    let user = json!({
        "userName": "bjensen", "title": "Tour Guide", "userType": "Employee", "active": true,
        "nickName": "Babs", "displayName": "Babs Jensen",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "ims": [{"value": "someaimhandle", "type": "aim"}],
        "meta": {"created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
        }
    });
    let mut group = c.benchmark_group("evaluate");
    for (name, filter) in filters() {
        let Ok(parsed) = parse_filter(filter) else { continue };
        let Ok(matcher) = Matcher::new(&parsed, &schema) else { continue };
        group.bench_function(name, |b| b.iter(|| matcher.matches(black_box(&user))));
    }
    if let Some((_, filter)) = filters().next() {
        group.bench_function("three_term_parse_compile_match", |b| {
            b.iter(|| {
                parse_filter(black_box(filter))
                    .ok()
                    .and_then(|f| Matcher::new(&f, &schema).ok().map(|m| m.matches(&user)))
            });
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = parse, evaluate
}
criterion_main!(benches);
