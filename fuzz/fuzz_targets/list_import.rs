//! Fuzzes what value-list import reads: item values (`ItemType::normalize`, the probe side
//! `Members::contains`, and the re-canonicalisation of stored values) and journal content (the
//! replay of `ListStore::open`, through `ListStore::from_journal`). Nothing may panic; a value that
//! is accepted must be a fixed point (normalising it again gives it back), must be found by
//! itself and by its Unicode case variants, and a stored canonical value must stay as it is.
//!
//! Input: the first line is tried as an item value of every type; the whole input is replayed as
//! a journal.
//!
//! `cargo +nightly fuzz run list_import` (from the repository root; needs cargo-fuzz).

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use riskgate::stores::lists::{page::Page, store::ListStore};
use riskgate_core::{
    lists::{ItemType, ListLookup, Members},
    text::fold,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let value = text.lines().next().unwrap_or("");
        for &t in ItemType::ALL {
            let Ok(canonical) = t.normalize(value) else {
                continue;
            };
            assert_eq!(t.normalize(&canonical).as_deref(), Ok(canonical.as_str()), "{t:?}");
            assert_eq!(t.recanonicalize(&canonical), canonical, "{t:?}");
            let mut m = Members::new(t);
            m.insert(&canonical);
            // A probe is one value; an IP list's item may be a CIDR range, which is no probe.
            if t != ItemType::IpAddress || !canonical.contains('/') {
                assert!(m.contains(&canonical), "{t:?} {canonical:?}");
            }
            if matches!(t, ItemType::Email | ItemType::String) {
                // The probe is folded as the value was: the value as written is found.
                assert!(m.contains(value.trim()), "{t:?} {value:?}");
                assert!(m.contains(&fold(value.trim())), "{t:?} {value:?}");
            }
            m.remove(&canonical);
            assert!(!m.contains(&canonical));
        }
    }
    // Any bytes as a journal: an error (naming a line) or a store whose lists all read back.
    if let Ok(store) = ListStore::from_journal(Path::new("fuzz.journal"), data, 0) {
        let mut after: Option<String> = None;
        loop {
            let page = Page { limit: 100, starting_after: after.as_deref() };
            let (lists, more) = store.list_lists(page, None).expect("listing lists");
            for list in &lists {
                let (items, _) = store
                    .list_items(&list.id, Page { limit: 100, starting_after: None }, None)
                    .expect("listing items");
                let cell = store.lookup(&list.alias).expect("every alias resolves");
                for item in items {
                    // A value valid for its type is found by itself (stored values that no
                    // longer validate are kept, but need not match anything).
                    let valid = list.item_type.normalize(&item.value).as_deref() == Ok(&item.value);
                    if valid && list.item_type != ItemType::IpAddress {
                        assert!(cell.contains(&item.value), "{:?} {:?}", list.item_type, item.value);
                    }
                }
            }
            after = lists.last().map(|l| l.id.clone());
            if !more {
                break;
            }
        }
    }
});
