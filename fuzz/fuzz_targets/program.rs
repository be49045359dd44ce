//! Any input, valid UTF-8 or not, through everything that reads a program:
//! the JSON converter, the parser, the checker, economics, the GTM matrix,
//! the partner view and the diff. None of them may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trellis_core::program::{self, diff, economics, json, lint, view};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(toml) = json::to_toml(src) {
        let _ = program::parse(&toml);
    }
    let _ = diff::diff(src, src);
    if let Ok(p) = program::parse(src) {
        let findings = lint::check(&p, src);
        for f in &findings {
            assert!(f.location.line >= 1 && f.location.column >= 1);
        }
        let _ = economics::table(&p);
        let _ = view::matrix(&p);
        if let Some(play) = p.plays.first() {
            let level = p.tiers.first().or(p.tracks.first()).map(|l| l.id.get_ref().as_str());
            let _ = view::for_partner(&p, play.partner_type.get_ref(), play.segment.get_ref(), level);
        }
    }
});
