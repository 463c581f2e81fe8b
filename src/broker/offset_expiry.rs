//! Committed offsets expire as Kafka's do (KIP-211), checked every
//! `offsets.retention.check.interval.ms`:
//! - a commit that carried its own retention (OffsetCommit v2-v4) expires when that ends;
//! - an Empty group's offsets expire `offsets.retention.minutes` after it became empty;
//! - a group that only ever committed (no members) loses each offset a retention after it was
//!   committed;
//! - a stable consumer group keeps the offsets of topics it subscribes to and loses the others
//!   a retention after their commit;
//! - a group with active members keeps everything.
//!
//! A group not in memory (the broker restarted since it was last used) counts from its last
//! commit or the broker's start, whichever is later, since when it became empty was lost with
//! the restart: offsets may live up to one restart longer than on Kafka, never shorter. A group
//! left with no offsets and no members is forgotten, as Kafka's becomes Dead.

use super::coordinator::RetentionView;
use super::state::BrokerState;
use crate::engine::CommittedOffset;

/// Whether one committed offset of `topic` has expired at `now_ms`.
pub fn is_expired(
    c: &CommittedOffset,
    topic: &str,
    view: &RetentionView,
    now_ms: i64,
    retention_ms: i64,
    started_ms: i64,
) -> bool {
    if let Some(at) = c.expire_timestamp {
        return now_ms >= at;
    }
    let since = match view {
        RetentionView::Active => return false,
        RetentionView::Subscribed(topics) if topics.contains(topic) => return false,
        RetentionView::Subscribed(_) | RetentionView::Standalone => c.commit_timestamp,
        RetentionView::Empty { since_ms } => *since_ms,
        RetentionView::Unknown => c.commit_timestamp.max(started_ms),
    };
    now_ms.saturating_sub(since) >= retention_ms
}

/// Removes expired offsets and forgets groups left with nothing; the number of offsets removed.
pub fn expire_offsets(state: &BrokerState, now_ms: i64) -> usize {
    let retention_ms = state.config().offsets_retention.as_millis() as i64;
    let store = state.engine().groups();
    let coordinator = state.coordinator();
    let mut names: Vec<String> = match store.list() {
        Ok(names) => names,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list groups for offset expiration");
            return 0;
        }
    };
    names.extend(coordinator.list().into_iter().map(|g| g.group_id));
    names.sort();
    names.dedup();
    let mut removed = 0;
    for group in names {
        let view = coordinator.retention_view(&group);
        let committed = match store.committed(&group) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(%group, error = %e, "cannot read committed offsets");
                continue;
            }
        };
        let expired: Vec<_> = committed
            .iter()
            .filter(|((topic, _), c)| {
                is_expired(c, topic, &view, now_ms, retention_ms, state.started_ms())
            })
            .map(|(tp, c)| (tp.clone(), c.clone()))
            .collect();
        // One write per group; a commit that landed since the listing is not the one that
        // expired and stays.
        let gone = match store.remove_if_unchanged(&group, &expired) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(%group, error = %e, "cannot expire offsets");
                0
            }
        };
        removed += gone;
        let left = committed.len() - gone;
        if left == 0
            && matches!(
                view,
                RetentionView::Empty { .. } | RetentionView::Standalone | RetentionView::Unknown
            )
        {
            coordinator.forget_if_empty(&group);
            // Gone from the store too, unless an embedded member holds it (then it stays).
            let _ = store.delete(&group);
        }
    }
    if removed > 0 {
        tracing::info!(removed, "expired committed offsets");
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn commit(at: i64, expire: Option<i64>) -> CommittedOffset {
        CommittedOffset {
            offset: 5,
            metadata: String::new(),
            commit_timestamp: at,
            expire_timestamp: expire,
        }
    }

    #[test]
    fn an_explicit_retention_wins_over_the_group_state() {
        let c = commit(0, Some(10 * MIN));
        assert!(!is_expired(
            &c,
            "t",
            &RetentionView::Active,
            9 * MIN,
            MIN,
            0
        ));
        assert!(is_expired(
            &c,
            "t",
            &RetentionView::Active,
            10 * MIN,
            MIN,
            0
        ));
    }

    #[test]
    fn an_empty_group_counts_from_when_it_became_empty() {
        let c = commit(0, None);
        let view = RetentionView::Empty { since_ms: 30 * MIN };
        assert!(!is_expired(&c, "t", &view, 30 * MIN + 9 * MIN, 10 * MIN, 0));
        assert!(is_expired(&c, "t", &view, 40 * MIN, 10 * MIN, 0));
    }

    #[test]
    fn active_groups_keep_offsets_and_subscribed_ones_keep_their_topics() {
        let c = commit(0, None);
        assert!(!is_expired(
            &c,
            "t",
            &RetentionView::Active,
            1000 * MIN,
            MIN,
            0
        ));
        let view = RetentionView::Subscribed(["t".to_string()].into());
        assert!(!is_expired(&c, "t", &view, 1000 * MIN, MIN, 0));
        assert!(is_expired(&c, "other", &view, 1000 * MIN, MIN, 0));
    }

    #[test]
    fn standalone_and_unknown_groups_count_from_the_commit_or_the_broker_start() {
        let c = commit(5 * MIN, None);
        assert!(!is_expired(
            &c,
            "t",
            &RetentionView::Standalone,
            14 * MIN,
            10 * MIN,
            0
        ));
        assert!(is_expired(
            &c,
            "t",
            &RetentionView::Standalone,
            15 * MIN,
            10 * MIN,
            0
        ));
        // After a restart at minute 20, an old commit gets a full retention from the start.
        assert!(!is_expired(
            &c,
            "t",
            &RetentionView::Unknown,
            29 * MIN,
            10 * MIN,
            20 * MIN
        ));
        assert!(is_expired(
            &c,
            "t",
            &RetentionView::Unknown,
            30 * MIN,
            10 * MIN,
            20 * MIN
        ));
    }
}
