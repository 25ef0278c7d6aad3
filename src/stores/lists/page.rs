//! Pagination of listings, as Stripe pages: newest first, `limit` objects after `starting_after`,
//! and whether more follow.

/// Largest page.
pub const MAX_LIMIT: usize = 100;
/// Page size when none is asked for (Stripe's default).
pub const DEFAULT_LIMIT: usize = 10;

/// A page of a listing.
#[derive(Debug, Clone, Default)]
pub struct Page<'a> {
    /// 1 to 100; 0 means the default (10).
    pub limit: usize,
    /// The id of the last object of the previous page.
    pub starting_after: Option<&'a str>,
}

/// The first page of `items` (already after the cursor, newest first), and whether more follow.
pub(super) fn take_page<'a, T: Clone + 'a>(
    mut items: impl Iterator<Item = &'a T>,
    limit: usize,
) -> (Vec<T>, bool) {
    let limit = if limit == 0 {
        DEFAULT_LIMIT
    } else {
        limit.min(MAX_LIMIT)
    };
    let page: Vec<T> = items.by_ref().take(limit).cloned().collect();
    let has_more = items.next().is_some();
    (page, has_more)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_and_clamp() {
        let all: Vec<u32> = (0..150).collect();
        let (page, more) = take_page(all.iter(), 0);
        assert_eq!((page.len(), more), (DEFAULT_LIMIT, true));
        let (page, more) = take_page(all.iter(), 1000);
        assert_eq!((page.len(), more), (MAX_LIMIT, true));
        let (page, more) = take_page(all[..3].iter(), 3);
        assert_eq!((page, more), (vec![0, 1, 2], false));
    }
}
