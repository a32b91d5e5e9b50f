//! What the evaluator needs to know about a resource type's attributes.
//!
//! This is deliberately a small subset of RFC 7643 §7's schema
//! representation (type, multiplicity, case-exactness, sub-attributes), so a
//! server can build it from whatever richer schema model it keeps.

use crate::ast::AttrPath;

/// An attribute's data type (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttrType {
    /// A JSON string (§2.3.1).
    String,
    /// `true` or `false` (§2.3.2).
    Boolean,
    /// A number with a fraction (§2.3.3).
    Decimal,
    /// A whole number (§2.3.4).
    Integer,
    /// An `xsd:dateTime` string, compared chronologically (§2.3.5).
    DateTime,
    /// Base64 text (§2.3.6).
    Binary,
    /// A URI (§2.3.7).
    Reference,
    /// An object with sub-attributes (§2.3.8).
    Complex,
}

/// One attribute: its name, type, multiplicity, case-exactness and, for a
/// complex attribute, its sub-attributes.
///
/// ```
/// use scim_filter_parser::{Attribute, AttrType};
/// let emails = Attribute::complex("emails", vec![
///     Attribute::new("value", AttrType::String),
///     Attribute::new("type", AttrType::String),
///     Attribute::new("primary", AttrType::Boolean),
/// ]).multi_valued();
/// assert!(emails.sub_attribute("VALUE").is_some());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The attribute name; looked up without regard to case.
    pub name: String,
    /// The data type.
    pub kind: AttrType,
    /// Whether the value is a JSON array of values.
    pub multi_valued: bool,
    /// Whether string comparison respects case (RFC 7643 §2.2, `caseExact`).
    pub case_exact: bool,
    /// The sub-attributes of a complex attribute.
    pub sub_attributes: Vec<Attribute>,
}

impl Attribute {
    /// A single-valued attribute that is not case-exact, the defaults of
    /// RFC 7643 §2.2.
    pub fn new(name: impl Into<String>, kind: AttrType) -> Self {
        Attribute {
            name: name.into(),
            kind,
            multi_valued: false,
            case_exact: false,
            sub_attributes: Vec::new(),
        }
    }

    /// A complex attribute with the given sub-attributes.
    pub fn complex(name: impl Into<String>, sub_attributes: Vec<Attribute>) -> Self {
        Attribute { sub_attributes, ..Attribute::new(name, AttrType::Complex) }
    }

    /// Marks the attribute multi-valued.
    #[must_use]
    pub fn multi_valued(mut self) -> Self {
        self.multi_valued = true;
        self
    }

    /// Marks the attribute case-exact.
    #[must_use]
    pub fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }

    /// The sub-attribute with this name, ignoring case.
    pub fn sub_attribute(&self, name: &str) -> Option<&Attribute> {
        find(&self.sub_attributes, name)
    }
}

fn find<'a>(attrs: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// An extension schema: its URN and attributes. In a resource its
/// attributes sit in an object under the URN (RFC 7643 §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// The schema URN, e.g.
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    pub urn: String,
    /// The extension's attributes.
    pub attributes: Vec<Attribute>,
}

/// A resource type's attributes: the core schema's (including common
/// attributes such as `id` and `meta`) and each extension's.
///
/// ```
/// use scim_filter_parser::{Attribute, AttrType, Schema};
/// let schema = Schema::new("urn:ietf:params:scim:schemas:core:2.0:User")
///     .attribute(Attribute::new("userName", AttrType::String))
///     .extension(
///         "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
///         vec![Attribute::new("employeeNumber", AttrType::String)],
///     );
/// assert_eq!(schema.attributes.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    /// The core schema URN, so that fully qualified core paths resolve.
    pub urn: String,
    /// The core (and common) attributes, at the top level of a resource.
    pub attributes: Vec<Attribute>,
    /// The extension schemas.
    pub extensions: Vec<Extension>,
}

/// Where a path's attribute was found.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resolved<'s> {
    /// The extension URN under which the attribute sits in a resource.
    pub(crate) extension: Option<&'s str>,
    pub(crate) attr: &'s Attribute,
    pub(crate) sub: Option<&'s Attribute>,
}

impl Schema {
    /// A schema with no attributes yet.
    pub fn new(urn: impl Into<String>) -> Self {
        Schema { urn: urn.into(), attributes: Vec::new(), extensions: Vec::new() }
    }

    /// Adds a core attribute.
    #[must_use]
    pub fn attribute(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// Adds an extension schema.
    #[must_use]
    pub fn extension(mut self, urn: impl Into<String>, attributes: Vec<Attribute>) -> Self {
        self.extensions.push(Extension { urn: urn.into(), attributes });
        self
    }

    /// Finds the attribute a path names.
    ///
    /// A path with a URN looks only in that schema. A path without one looks
    /// in the core schema first, then in the extensions in order: RFC 7644
    /// §3.10 lets clients omit the URN of core attributes, and extension
    /// attributes with names unique to them are commonly sent the same way.
    ///
    /// ```
    /// use scim_filter_parser::{AttrPath, Schema};
    /// let schema = Schema::user();
    /// let p: AttrPath = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
    ///     .parse().unwrap();
    /// assert!(schema.find(&p).is_some());
    /// let q: AttrPath = "name.familyName".parse().unwrap();
    /// assert!(schema.find(&q).is_some());
    /// ```
    pub fn find(&self, path: &AttrPath) -> Option<(&Attribute, Option<&Attribute>)> {
        self.resolve(path).map(|r| (r.attr, r.sub))
    }

    pub(crate) fn resolve(&self, path: &AttrPath) -> Option<Resolved<'_>> {
        let (extension, attr) = match &path.urn {
            Some(urn) if urn.eq_ignore_case(&self.urn) => (None, find(&self.attributes, path.name.as_str())?),
            Some(urn) => {
                let ext = self.extensions.iter().find(|e| urn.eq_ignore_case(&e.urn))?;
                (Some(ext.urn.as_str()), find(&ext.attributes, path.name.as_str())?)
            }
            None => match find(&self.attributes, path.name.as_str()) {
                Some(a) => (None, a),
                None => self.extensions.iter().find_map(|e| {
                    find(&e.attributes, path.name.as_str()).map(|a| (Some(e.urn.as_str()), a))
                })?,
            },
        };
        let sub = match &path.sub_attr {
            Some(s) => Some(attr.sub_attribute(s.as_str())?),
            None => None,
        };
        Some(Resolved { extension, attr, sub })
    }

    /// The RFC 7643 §4.1 User schema with the common attributes of §3.1 and
    /// the §4.3 enterprise extension: handy for tests, examples and servers
    /// that have no schema of their own yet.
    pub fn user() -> Self {
        use AttrType::{Binary, Boolean, DateTime, Reference, String as Str};
        let s = |n: &str| Attribute::new(n, Str);
        let multi = |n: &str, extra: Vec<Attribute>| {
            let mut subs = vec![s("value"), s("display"), s("type"), Attribute::new("primary", Boolean)];
            subs.extend(extra);
            Attribute::complex(n, subs).multi_valued()
        };
        let reference = |n: &str| Attribute::new(n, Reference).case_exact();
        Schema::new("urn:ietf:params:scim:schemas:core:2.0:User")
            .attribute(s("id").case_exact())
            .attribute(s("externalId").case_exact())
            .attribute(Attribute::complex(
                "meta",
                vec![
                    s("resourceType"),
                    Attribute::new("created", DateTime),
                    Attribute::new("lastModified", DateTime),
                    reference("location"),
                    s("version").case_exact(),
                ],
            ))
            .attribute(s("schemas").case_exact().multi_valued())
            .attribute(s("userName"))
            .attribute(Attribute::complex(
                "name",
                ["formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"]
                    .into_iter()
                    .map(s)
                    .collect(),
            ))
            .attribute(s("displayName"))
            .attribute(s("nickName"))
            .attribute(reference("profileUrl"))
            .attribute(s("title"))
            .attribute(s("userType"))
            .attribute(s("preferredLanguage"))
            .attribute(s("locale"))
            .attribute(s("timezone"))
            .attribute(Attribute::new("active", Boolean))
            .attribute(s("password").case_exact())
            .attribute(multi("emails", vec![]))
            .attribute(multi("phoneNumbers", vec![]))
            .attribute(multi("ims", vec![]))
            .attribute(multi("photos", vec![]))
            .attribute(
                Attribute::complex(
                    "addresses",
                    ["formatted", "streetAddress", "locality", "region", "postalCode", "country", "type"]
                        .into_iter()
                        .map(s)
                        .chain([Attribute::new("primary", Boolean)])
                        .collect(),
                )
                .multi_valued(),
            )
            .attribute(multi("groups", vec![reference("$ref")]))
            .attribute(multi("entitlements", vec![]))
            .attribute(multi("roles", vec![]))
            .attribute(
                Attribute::complex(
                    "x509Certificates",
                    vec![
                        Attribute::new("value", Binary).case_exact(),
                        s("display"),
                        s("type"),
                        Attribute::new("primary", Boolean),
                    ],
                )
                .multi_valued(),
            )
            .extension(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                vec![
                    s("employeeNumber"),
                    s("costCenter"),
                    s("organization"),
                    s("division"),
                    s("department"),
                    Attribute::complex("manager", vec![s("value"), reference("$ref"), s("displayName")]),
                ],
            )
    }
}
