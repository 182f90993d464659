//! Release bundle sizes, raw and gzipped at the highest level (what a CDN would serve).

use std::io::Write as _;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Map, Value, json};

use crate::Result;
use crate::args::Args;

pub fn command(args: &Args) -> Result<()> {
    let pkg = Path::new(args.required("pkg")?);
    let name = args.get("name").unwrap_or("gamestore");
    let mut files = Map::new();
    for ext in ["wasm", "js", "css"] {
        let path = pkg.join(format!("{name}.{ext}"));
        let Ok(bytes) = std::fs::read(&path) else {
            if ext == "css" {
                continue;
            }
            return Err(format!(
                "{} is missing: build the release bundle first",
                path.display()
            )
            .into());
        };
        let gzipped = gzip_len(&bytes)?;
        eprintln!(
            "{name}.{ext}: {} bytes raw, {gzipped} bytes gzipped",
            bytes.len()
        );
        files.insert(
            ext.to_owned(),
            json!({ "raw_bytes": bytes.len(), "gzip_bytes": gzipped }),
        );
    }
    crate::write_json(args, &Value::Object(files))
}

fn gzip_len(bytes: &[u8]) -> Result<usize> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetitive_input_compresses() {
        let input = vec![b'a'; 10_000];
        let len = gzip_len(&input).expect("gzip");
        assert!(len < 100, "{len}");
    }
}
