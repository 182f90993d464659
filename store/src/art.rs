//! Cover art for catalog items, generated as SVG from the item's SKU and name: a colour scheme
//! derived from a hash of the SKU and a glyph chosen by keywords (sword, potion, hat, …). No
//! image is fetched from anywhere; every item, including ones operators add, gets a cover.

use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Glyph {
    Sword,
    Shield,
    Boots,
    Potion,
    Hat,
    Gem,
    Bow,
    Scroll,
    Ring,
    Staff,
    Armor,
    Helmet,
    Crown,
    Axe,
    Key,
    Chest,
    Egg,
    Book,
    Amulet,
    Map,
}

const KEYWORDS: &[(&[&str], Glyph)] = &[
    (
        &["sword", "blade", "katana", "dagger", "sabre", "saber"],
        Glyph::Sword,
    ),
    (&["shield", "buckler", "aegis"], Glyph::Shield),
    (&["boot", "greave", "sandal", "shoe"], Glyph::Boots),
    (
        &["potion", "elixir", "flask", "tonic", "brew", "vial"],
        Glyph::Potion,
    ),
    (&["hat", "cap", "hood"], Glyph::Hat),
    (&["bow", "arrow", "quiver"], Glyph::Bow),
    (&["scroll", "rune", "spell"], Glyph::Scroll),
    (&["ring", "band", "loop"], Glyph::Ring),
    (
        &["staff", "wand", "rod", "sceptre", "scepter"],
        Glyph::Staff,
    ),
    (
        &[
            "armor", "armour", "plate", "mail", "robe", "cloak", "cape", "vest",
        ],
        Glyph::Armor,
    ),
    (&["helm", "visor", "mask"], Glyph::Helmet),
    (&["crown", "tiara", "circlet"], Glyph::Crown),
    (&["axe", "hammer", "mace", "maul"], Glyph::Axe),
    (&["key", "lockpick", "pass"], Glyph::Key),
    (
        &[
            "chest", "coin", "gold", "pack", "bundle", "crate", "bag", "pouch",
        ],
        Glyph::Chest,
    ),
    (
        &["egg", "pet", "mount", "familiar", "companion", "hatchling"],
        Glyph::Egg,
    ),
    (
        &["book", "tome", "grimoire", "codex", "manual"],
        Glyph::Book,
    ),
    (
        &["amulet", "pendant", "necklace", "talisman", "charm"],
        Glyph::Amulet,
    ),
    (&["map", "chart", "atlas", "compass"], Glyph::Map),
    (
        &[
            "gem", "crystal", "shard", "ruby", "sapphire", "emerald", "diamond", "orb",
        ],
        Glyph::Gem,
    ),
];

fn glyph_for(sku: &str, name: &str) -> Glyph {
    let text = format!("{} {}", sku, name).to_lowercase();
    let words: Vec<&str> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    // The last matching word wins ("Dragon Sword" is a sword, "Sword Case" a chest).
    words
        .iter()
        .rev()
        .find_map(|w| {
            KEYWORDS
                .iter()
                .find(|(keys, _)| keys.iter().any(|k| w.starts_with(k)))
                .map(|(_, g)| *g)
        })
        .unwrap_or(Glyph::Gem)
}

fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A 400×300 SVG cover for an item.
pub fn cover_svg(sku: &str, name: &str) -> String {
    let hash = fnv1a(sku);
    let hue = (hash % 360) as u32;
    let hue2 = (hue + 40 + (hash >> 16) as u32 % 80) % 360;
    let accent = (hue + 180) % 360;
    let glyph = glyph_for(sku, name);

    let mut svg = String::with_capacity(4096);
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300" role="img" aria-label="{label}">
<defs>
<linearGradient id="bg" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl({hue},62%,24%)"/><stop offset="1" stop-color="hsl({hue2},70%,12%)"/></linearGradient>
<radialGradient id="glow" cx="0.5" cy="0.47" r="0.45"><stop offset="0" stop-color="hsl({hue2},90%,70%)" stop-opacity="0.55"/><stop offset="1" stop-color="hsl({hue2},90%,60%)" stop-opacity="0"/></radialGradient>
<linearGradient id="metal" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#f4f6fb"/><stop offset="1" stop-color="hsl({hue},25%,68%)"/></linearGradient>
<linearGradient id="accent" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="hsl({accent},85%,66%)"/><stop offset="1" stop-color="hsl({accent},80%,42%)"/></linearGradient>
</defs>
<rect width="400" height="300" fill="url(#bg)"/>
<circle cx="200" cy="140" r="140" fill="url(#glow)"/>
"##,
        label = escape(name),
    );
    // Deterministic sparkles.
    let mut h = hash;
    for _ in 0..14 {
        h = h
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let x = (h >> 33) % 400;
        let y = (h >> 13) % 300;
        let r = 0.6 + ((h >> 50) % 20) as f64 / 10.0;
        let _ = write!(
            svg,
            r##"<circle cx="{x}" cy="{y}" r="{r:.1}" fill="#fff" opacity="0.55"/>"##
        );
    }
    svg.push_str(
        r##"<g stroke="#0b0f1a" stroke-width="4" stroke-linejoin="round" stroke-linecap="round">"##,
    );
    svg.push_str(glyph_svg(glyph));
    svg.push_str("</g>\n");
    svg.push_str(r##"<rect x="6" y="6" width="388" height="288" rx="14" fill="none" stroke="#fff" stroke-opacity="0.18" stroke-width="2"/>"##);
    svg.push_str("</svg>\n");
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn glyph_svg(glyph: Glyph) -> &'static str {
    match glyph {
        Glyph::Sword => concat!(
            r##"<g transform="rotate(45 200 140)">"##,
            r##"<path d="M188 40 L200 18 L212 40 L212 160 L188 160 Z" fill="url(#metal)"/>"##,
            r##"<path d="M200 26 L200 156" stroke-width="2" stroke-opacity="0.5"/>"##,
            r##"<rect x="156" y="158" width="88" height="16" rx="6" fill="url(#accent)"/>"##,
            r##"<rect x="191" y="174" width="18" height="44" rx="5" fill="#6b4a2b"/>"##,
            r##"<circle cx="200" cy="228" r="13" fill="url(#accent)"/></g>"##
        ),
        Glyph::Shield => concat!(
            r##"<path d="M200 40 L280 66 C280 150 256 200 200 236 C144 200 120 150 120 66 Z" fill="url(#metal)"/>"##,
            r##"<path d="M200 62 L258 82 C258 146 240 184 200 210 C160 184 142 146 142 82 Z" fill="url(#accent)"/>"##,
            r##"<path d="M200 92 L212 124 L246 124 L218 144 L228 176 L200 156 L172 176 L182 144 L154 124 L188 124 Z" fill="#fff" stroke-width="3"/>"##
        ),
        Glyph::Boots => concat!(
            r##"<path d="M150 60 L206 60 L206 170 L266 186 C284 192 288 212 280 226 L142 226 C134 226 134 218 136 210 L150 170 Z" fill="url(#accent)"/>"##,
            r##"<path d="M140 212 L282 212" stroke-width="3"/>"##,
            r##"<rect x="144" y="52" width="68" height="22" rx="6" fill="url(#metal)"/>"##,
            r##"<path d="M212 92 C246 80 270 88 290 70 M212 112 C250 104 274 112 300 96 M212 132 C246 128 268 134 290 124" fill="none" stroke="#fff" stroke-width="5"/>"##
        ),
        Glyph::Potion => concat!(
            r##"<rect x="180" y="36" width="40" height="26" rx="5" fill="#8a5a34"/>"##,
            r##"<path d="M184 62 L216 62 L216 100 C262 116 280 150 270 186 C260 222 232 240 200 240 C168 240 140 222 130 186 C120 150 138 116 184 100 Z" fill="url(#metal)"/>"##,
            r##"<path d="M136 168 C170 150 230 186 264 168 C262 210 236 232 200 232 C164 232 138 210 136 168 Z" fill="url(#accent)" stroke-width="3"/>"##,
            r##"<circle cx="176" cy="140" r="9" fill="#fff" stroke="none" opacity="0.8"/>"##
        ),
        Glyph::Hat => concat!(
            r##"<path d="M200 28 C214 80 236 130 268 190 L132 190 C168 130 188 82 200 28 Z" fill="url(#accent)"/>"##,
            r##"<ellipse cx="200" cy="196" rx="112" ry="26" fill="url(#accent)"/>"##,
            r##"<path d="M150 176 C184 188 216 188 250 176 L254 190 C218 202 182 202 146 190 Z" fill="url(#metal)" stroke-width="3"/>"##,
            r##"<path d="M196 96 L201 108 L214 109 L204 117 L208 130 L196 123 L185 130 L189 117 L179 109 L192 108 Z" fill="#fff" stroke-width="2"/>"##,
            r##"<circle cx="222" cy="150" r="5" fill="#fff" stroke-width="2"/>"##
        ),
        Glyph::Gem => concat!(
            r##"<path d="M140 96 L170 56 L230 56 L260 96 L200 220 Z" fill="url(#accent)"/>"##,
            r##"<path d="M140 96 L260 96 M170 56 L186 96 L200 220 L214 96 L230 56 M186 96 L200 56 L214 96" fill="none" stroke-width="3"/>"##,
            r##"<path d="M176 68 L194 68 L184 90 Z" fill="#fff" stroke="none" opacity="0.75"/>"##
        ),
        Glyph::Bow => concat!(
            r##"<path d="M150 40 C250 70 250 210 150 240" fill="none" stroke="#6b4a2b" stroke-width="14"/>"##,
            r##"<path d="M150 40 C250 70 250 210 150 240" fill="none" stroke="url(#accent)" stroke-width="8"/>"##,
            r##"<path d="M150 40 L150 240" stroke-width="2"/>"##,
            r##"<path d="M110 140 L272 140" stroke-width="5"/>"##,
            r##"<path d="M272 140 L252 128 L256 140 L252 152 Z" fill="url(#metal)" stroke-width="3"/>"##,
            r##"<path d="M110 140 L124 126 M110 140 L124 154 M120 140 L134 126 M120 140 L134 154" stroke-width="3"/>"##
        ),
        Glyph::Scroll => concat!(
            r##"<rect x="130" y="70" width="140" height="150" fill="#f1e2bf"/>"##,
            r##"<rect x="118" y="56" width="164" height="24" rx="12" fill="#d8c08e"/>"##,
            r##"<rect x="118" y="210" width="164" height="24" rx="12" fill="#d8c08e"/>"##,
            r##"<path d="M152 110 L248 110 M152 134 L236 134 M152 158 L244 158 M152 182 L220 182" stroke-width="5" stroke-opacity="0.55"/>"##,
            r##"<circle cx="244" cy="186" r="14" fill="url(#accent)" stroke-width="3"/>"##
        ),
        Glyph::Ring => concat!(
            r##"<circle cx="200" cy="160" r="62" fill="none" stroke="#0b0f1a" stroke-width="26"/>"##,
            r##"<circle cx="200" cy="160" r="62" fill="none" stroke="url(#metal)" stroke-width="18"/>"##,
            r##"<path d="M172 96 L186 70 L214 70 L228 96 L200 122 Z" fill="url(#accent)"/>"##,
            r##"<path d="M172 96 L228 96" stroke-width="3"/>"##
        ),
        Glyph::Staff => concat!(
            r##"<path d="M150 250 L236 90" stroke-width="16"/>"##,
            r##"<path d="M150 250 L236 90" stroke="#7a5230" stroke-width="10"/>"##,
            r##"<path d="M222 96 C214 70 232 44 252 48 C276 52 280 84 262 100" fill="none" stroke-width="8"/>"##,
            r##"<circle cx="246" cy="74" r="22" fill="url(#accent)"/>"##,
            r##"<circle cx="238" cy="66" r="6" fill="#fff" stroke="none" opacity="0.8"/>"##
        ),
        Glyph::Armor => concat!(
            r##"<path d="M150 50 L182 62 C190 76 210 76 218 62 L250 50 L288 84 L266 120 L252 112 L252 230 L148 230 L148 112 L134 120 L112 84 Z" fill="url(#metal)"/>"##,
            r##"<path d="M200 80 L200 226 M160 140 L240 140 M160 180 L240 180" stroke-width="3" stroke-opacity="0.6"/>"##,
            r##"<circle cx="200" cy="110" r="16" fill="url(#accent)" stroke-width="3"/>"##
        ),
        Glyph::Helmet => concat!(
            r##"<path d="M130 190 C120 110 150 60 200 56 C250 60 280 110 270 190 L240 214 L160 214 Z" fill="url(#metal)"/>"##,
            r##"<path d="M150 128 L250 128 L250 148 L212 148 L212 200 L188 200 L188 148 L150 148 Z" fill="#0b0f1a"/>"##,
            r##"<path d="M200 56 C196 36 208 24 226 22" fill="none" stroke="url(#accent)" stroke-width="10"/>"##
        ),
        Glyph::Crown => concat!(
            r##"<path d="M120 200 L110 92 L158 136 L200 70 L242 136 L290 92 L280 200 Z" fill="url(#accent)"/>"##,
            r##"<rect x="118" y="196" width="164" height="30" rx="6" fill="url(#metal)"/>"##,
            r##"<circle cx="110" cy="88" r="10" fill="#fff"/><circle cx="200" cy="64" r="10" fill="#fff"/><circle cx="290" cy="88" r="10" fill="#fff"/>"##,
            r##"<circle cx="200" cy="211" r="8" fill="url(#accent)" stroke-width="3"/>"##
        ),
        Glyph::Axe => concat!(
            r##"<path d="M170 250 L230 50" stroke-width="16"/>"##,
            r##"<path d="M170 250 L230 50" stroke="#7a5230" stroke-width="10"/>"##,
            r##"<path d="M214 86 C250 60 292 72 300 102 C298 138 262 156 228 140 Z" fill="url(#metal)"/>"##,
            r##"<path d="M214 86 C190 74 160 86 156 108 C160 126 190 136 206 124 Z" fill="url(#accent)"/>"##
        ),
        Glyph::Key => concat!(
            r##"<circle cx="150" cy="140" r="44" fill="url(#accent)"/>"##,
            r##"<circle cx="150" cy="140" r="18" fill="#0b0f1a"/>"##,
            r##"<rect x="190" y="130" width="110" height="20" rx="4" fill="url(#metal)"/>"##,
            r##"<rect x="258" y="150" width="14" height="30" fill="url(#metal)"/><rect x="282" y="150" width="14" height="22" fill="url(#metal)"/>"##
        ),
        Glyph::Chest => concat!(
            r##"<path d="M110 120 C110 74 290 74 290 120 Z" fill="#8a5a34"/>"##,
            r##"<rect x="110" y="120" width="180" height="100" rx="6" fill="#a26a3c"/>"##,
            r##"<path d="M110 120 L290 120 M150 82 L150 220 M250 82 L250 220" stroke-width="6" stroke="url(#accent)"/>"##,
            r##"<rect x="186" y="126" width="28" height="34" rx="4" fill="url(#metal)"/>"##,
            r##"<circle cx="160" cy="66" r="12" fill="#ffd54a"/><circle cx="240" cy="60" r="10" fill="#ffd54a"/><circle cx="200" cy="50" r="8" fill="#ffd54a"/>"##
        ),
        Glyph::Egg => concat!(
            r##"<path d="M200 40 C250 40 282 120 282 170 C282 216 246 244 200 244 C154 244 118 216 118 170 C118 120 150 40 200 40 Z" fill="url(#metal)"/>"##,
            r##"<path d="M124 150 L150 134 L170 158 L196 132 L222 160 L246 136 L278 152" fill="none" stroke-width="4"/>"##,
            r##"<circle cx="170" cy="196" r="12" fill="url(#accent)" stroke-width="3"/><circle cx="232" cy="90" r="10" fill="url(#accent)" stroke-width="3"/><circle cx="228" cy="206" r="8" fill="url(#accent)" stroke-width="3"/>"##
        ),
        Glyph::Book => concat!(
            r##"<path d="M200 80 C170 60 130 60 104 70 L104 220 C130 210 170 210 200 230 Z" fill="url(#accent)"/>"##,
            r##"<path d="M200 80 C230 60 270 60 296 70 L296 220 C270 210 230 210 200 230 Z" fill="url(#accent)"/>"##,
            r##"<path d="M200 86 C176 72 144 72 118 80 L118 206 C144 198 176 200 200 214 Z" fill="#f4ead2" stroke-width="2"/>"##,
            r##"<path d="M200 86 C224 72 256 72 282 80 L282 206 C256 198 224 200 200 214 Z" fill="#f4ead2" stroke-width="2"/>"##,
            r##"<path d="M136 110 L180 116 M136 134 L180 140 M220 116 L264 110 M220 140 L264 134" stroke-width="3" stroke-opacity="0.5"/>"##
        ),
        Glyph::Amulet => concat!(
            r##"<path d="M140 40 C150 110 180 130 200 136 C220 130 250 110 260 40" fill="none" stroke="url(#metal)" stroke-width="8"/>"##,
            r##"<circle cx="200" cy="184" r="52" fill="url(#metal)"/>"##,
            r##"<circle cx="200" cy="184" r="32" fill="url(#accent)"/>"##,
            r##"<rect x="192" y="124" width="16" height="16" rx="3" fill="url(#metal)"/>"##,
            r##"<circle cx="190" cy="174" r="7" fill="#fff" stroke="none" opacity="0.8"/>"##
        ),
        Glyph::Map => concat!(
            r##"<path d="M100 80 L166 60 L234 80 L300 60 L300 220 L234 240 L166 220 L100 240 Z" fill="#f1e2bf"/>"##,
            r##"<path d="M166 60 L166 220 M234 80 L234 240" stroke-width="3" stroke-opacity="0.6"/>"##,
            r##"<path d="M120 200 C150 170 170 190 200 160 C222 138 240 150 262 120" fill="none" stroke-width="4" stroke-dasharray="8 8"/>"##,
            r##"<path d="M250 104 L276 130 M276 104 L250 130" stroke="url(#accent)" stroke-width="8"/>"##
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_glyphs_by_keyword() {
        assert_eq!(glyph_for("dragon-sword", "Dragon Sword"), Glyph::Sword);
        assert_eq!(glyph_for("health-potion", "Health Potion"), Glyph::Potion);
        assert_eq!(glyph_for("wizard-hat", "Wizard Hat"), Glyph::Hat);
        assert_eq!(glyph_for("speed-boots", "Speed Boots"), Glyph::Boots);
        assert_eq!(glyph_for("mystery", "Mystery"), Glyph::Gem);
    }

    #[test]
    fn covers_are_deterministic_valid_looking_svg() {
        let a = cover_svg("dragon-sword", "Dragon Sword");
        assert_eq!(a, cover_svg("dragon-sword", "Dragon Sword"));
        assert_ne!(a, cover_svg("magic-shield", "Magic Shield"));
        assert!(a.starts_with("<svg") && a.trim_end().ends_with("</svg>"));
        assert!(cover_svg("x", "<script>").contains("&lt;script&gt;"));
    }
}
