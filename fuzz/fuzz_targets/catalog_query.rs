//! The catalog query parser on arbitrary parameters: it never panics, refuses with a field
//! name, and what it accepts round-trips through its canonical query string.
#![no_main]

use api_types::CatalogQuery;
use libfuzzer_sys::fuzz_target;
use store::catalog::Query;

fuzz_target!(|raw: [Option<String>; 7]| {
    let [q, tag, min_price, max_price, sort, page, per_page] = raw;
    let raw = CatalogQuery { q, tag, min_price, max_price, sort, page, per_page };
    match Query::parse(&raw) {
        Err(e) => assert!(e.field().is_some(), "a refused query names its field"),
        Ok(query) => {
            let text = query.to_query_string(query.page);
            assert!(!text.chars().any(char::is_control));
            let pairs: Vec<(String, String)> =
                url_decode(&text).expect("the canonical query string decodes");
            let mut again = CatalogQuery::default();
            for (k, v) in pairs {
                let v = Some(v);
                match k.as_str() {
                    "q" => again.q = v,
                    "tag" => again.tag = v,
                    "min_price" => again.min_price = v,
                    "max_price" => again.max_price = v,
                    "sort" => again.sort = v,
                    "page" => again.page = v,
                    "per_page" => again.per_page = v,
                    other => panic!("unexpected parameter {other}"),
                }
            }
            assert_eq!(Query::parse(&again).ok(), Some(query), "round trip");
        }
    }
});

fn url_decode(text: &str) -> Option<Vec<(String, String)>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
