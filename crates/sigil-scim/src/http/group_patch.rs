//! PATCH of a group's members alone (RFC 7644 §3.5.2), applied to the
//! store as a change of members instead of to the group's JSON.
//!
//! Provisioning clients keep large groups in step with operations that add
//! or remove a few members of many thousands. The general path
//! (`write::patch_group_json`) reads the whole group, applies the
//! operations to its JSON and writes back the difference; here only the
//! members the request names are read. The write (which on SQLite holds
//! the one writer that every write waits for) costs what the change costs,
//! not what the group weighs, and the members are read once, after it, and
//! only when the response shows them.
//!
//! The outcome is the general path's, step for step: the same checks in
//! the same order (the group's lock, `If-Match`, `noTarget` for a filter
//! that matches no member at that point, the writer's rights over the
//! group, `invalidValue` for an id that names nothing, then cycles), the
//! same members in the same order, and the version moved once when
//! anything changed. The tests below hold the two paths to that, case by
//! case, on both backends.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use sigil_store::groups::{self, Group};
use sigil_store::{AnyConnection, StoreError};

use super::ScimContext;
use super::write::{Actor, Patched, check_version, load_group_with, may_change_group};
use crate::ScimError;
use crate::group::{MemberRef, resolve_members};
use crate::patch::MemberChange;

/// Applies `changes` (from `patch::member_changes`) to the group `id` and
/// answers with the group as committed.
pub(super) async fn patch_members(
    ctx: &ScimContext,
    actor: &Actor,
    id: &str,
    changes: Vec<MemberChange>,
    if_match: Option<&str>,
    with_members: bool,
) -> Result<Patched, ScimError> {
    let (now, actor) = (ctx.store.now(), actor.clone());
    let (write_id, if_match) = (id.to_owned(), if_match.map(str::to_owned));
    let written = ctx
        .store
        .write(move |c| {
            let group = change_members(c, &write_id, &changes, if_match.as_deref(), &actor, now)?;
            actor.record(c, &write_id, now)?;
            Ok::<_, ScimError>(group)
        })
        .await?;
    // The response is read after the commit, on a pooled connection, so
    // rendering a large group does not hold the write. It is read on one
    // snapshot, and a group's members change only with its version, so the
    // ETag returned is the version of the members returned (RFC 7644
    // §3.14). That snapshot begins after this PATCH committed: it holds
    // this change, and whatever another writer committed since, with that
    // writer's version; what a GET would answer at that moment.
    let (base, id) = (ctx.base.clone(), id.to_owned());
    let committed = ctx
        .store
        .read_snapshot(move |c| match load_group_with(c, &id, &base, with_members) {
            Ok(read) => Ok(Some(read)),
            Err(StoreError::NotFound) => Ok(None),
            Err(other) => Err(other),
        })
        .await?;
    Ok(match committed {
        Some((resource, version)) => (Some(resource), version),
        // Deleted by another request since: the PATCH still succeeded, and
        // is answered without the resource (RFC 7644 §3.5.2 allows 204).
        None => (None, written.meta.version),
    })
}

/// The write of [`patch_members`]: everything but the response.
pub(super) fn change_members(
    conn: &mut AnyConnection,
    id: &str,
    changes: &[MemberChange],
    if_match: Option<&str>,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<Group, ScimError> {
    // Locked first, as in the general path: the version compared is the one
    // changed, and a PATCH without If-Match waits for a concurrent writer.
    let stored = groups::lock(conn, id)?;
    check_version(if_match, stored.meta.version)?;
    let mut named: HashSet<&str> = HashSet::new();
    for change in changes {
        match change {
            MemberChange::Add(references) => named.extend(references.iter().map(|r| r.id.as_str())),
            MemberChange::RemoveMatching { id, .. } => {
                named.insert(id);
            }
            MemberChange::RemoveValues(ids) => named.extend(ids.iter().map(String::as_str)),
        }
    }
    let named: Vec<&str> = named.into_iter().collect();
    let current: Vec<String> =
        groups::members_among(conn, id, &named)?.into_iter().map(|m| m.id().to_owned()).collect();
    let (added, removed) = Replay::new(&current).run(changes)?;
    // The name does not change: the rights it carries are the group's own.
    may_change_group(conn, id, Some(&stored.display_name), actor)?;
    let added = resolve_members(conn, &added)?;
    Ok(groups::change_members(conn, id, &added, &removed, Some(stored.meta.version), now)?)
}

/// The operations played on the members they name, as `patch::apply`
/// plays them on the whole `members` list: an `add` appends what is not
/// there at that point, a remove takes out what is.
struct Replay<'c> {
    /// The members named that the group had before the PATCH.
    before: HashSet<&'c str>,
    /// Those it has at this point of the PATCH.
    present: HashSet<&'c str>,
    /// The members appended by the PATCH, in order; an entry is emptied
    /// when its member is removed again, so a member added, removed and
    /// added again sits where its last addition put it.
    appended: Vec<Option<&'c MemberRef>>,
    /// Where each appended member sits in `appended`.
    at: HashMap<&'c str, usize>,
}

impl<'c> Replay<'c> {
    fn new(current: &'c [String]) -> Self {
        let before: HashSet<&str> = current.iter().map(String::as_str).collect();
        Self { present: before.clone(), before, appended: Vec::new(), at: HashMap::new() }
    }

    /// The members to look up and add, in the order the general path
    /// resolves and appends them, and the ids to remove.
    fn run(mut self, changes: &'c [MemberChange]) -> Result<(Vec<&'c MemberRef>, Vec<&'c str>), ScimError> {
        for change in changes {
            match change {
                MemberChange::Add(references) => {
                    for reference in references {
                        if self.present.insert(&reference.id) {
                            self.at.insert(&reference.id, self.appended.len());
                            self.appended.push(Some(reference));
                        }
                    }
                }
                MemberChange::RemoveMatching { id, no_target } => {
                    if !self.take(id) {
                        return Err(ScimError::NoTarget(no_target.clone()));
                    }
                }
                MemberChange::RemoveValues(ids) => {
                    for id in ids {
                        self.take(id);
                    }
                }
            }
        }
        // A member there before is neither looked up nor added again, what
        // type its new value gives: the general path takes it as stored.
        let added =
            self.appended.into_iter().flatten().filter(|r| !self.before.contains(r.id.as_str())).collect();
        let removed = self.before.iter().filter(|id| !self.present.contains(*id)).copied().collect();
        Ok((added, removed))
    }

    /// Removes `id` at this point; reports whether it was there.
    fn take(&mut self, id: &str) -> bool {
        if !self.present.remove(id) {
            return false;
        }
        if let Some(index) = self.at.remove(id) {
            self.appended[index] = None;
        }
        true
    }
}

#[cfg(test)]
mod tests;
