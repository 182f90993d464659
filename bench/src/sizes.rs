//! Release bundle sizes, raw and gzipped at the highest level (what a CDN would serve).

use std::io::Write as _;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::Result;
use crate::args::Args;
use crate::results::{BundleSizes, FileSize};

pub fn command(args: &Args) -> Result<()> {
    let pkg = Path::new(args.required("pkg")?);
    let name = args.get("name").unwrap_or("gamestore");
    let wasm_path = pkg.join(format!("{name}.wasm"));
    let wasm = read_required(&wasm_path)?;
    let js = read_required(&pkg.join(format!("{name}.js")))?;
    let css = std::fs::read(pkg.join(format!("{name}.css"))).ok();
    let size = |ext: &str, bytes: &[u8]| -> Result<FileSize> {
        let gzipped = gzip_len(bytes)?;
        eprintln!(
            "{name}.{ext}: {} bytes raw, {gzipped} bytes gzipped",
            bytes.len()
        );
        Ok(FileSize {
            raw_bytes: bytes.len(),
            gzip_bytes: gzipped,
        })
    };
    let sections = custom_sections(&wasm);
    let release = !sections
        .iter()
        .any(|s| s == "name" || s.starts_with(".debug"));
    let result = BundleSizes {
        wasm: size("wasm", &wasm)?,
        js: size("js", &js)?,
        css: css.map(|bytes| size("css", &bytes)).transpose()?,
        wasm_custom_sections: sections,
        release_build: release,
    };
    if !release && args.get("require-release").is_some() {
        return Err(format!(
            "{} is a debug build (it has name or debug sections)",
            wasm_path.display()
        )
        .into());
    }
    crate::write_json(args, &result)
}

fn read_required(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|_| {
        format!(
            "{} is missing: build the release bundle first",
            path.display()
        )
        .into()
    })
}

/// The names of a WASM module's custom sections (`name` and `.debug_*` mean a debug build).
fn custom_sections(wasm: &[u8]) -> Vec<String> {
    fn leb(bytes: &[u8], pos: &mut usize) -> Option<usize> {
        let mut value = 0_usize;
        for shift in (0..35).step_by(7) {
            let byte = *bytes.get(*pos)?;
            *pos += 1;
            value |= usize::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(value);
            }
        }
        None
    }
    let mut names = Vec::new();
    let mut pos = 8; // magic and version
    while pos < wasm.len() {
        let id = wasm[pos];
        pos += 1;
        let Some(size) = leb(wasm, &mut pos) else {
            break;
        };
        let end = pos.saturating_add(size);
        if id == 0 {
            let mut p = pos;
            if let Some(len) = leb(wasm, &mut p)
                && let Some(name) = wasm.get(p..p + len)
            {
                names.push(String::from_utf8_lossy(name).into_owned());
            }
        }
        pos = end;
    }
    names
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
    fn finds_custom_sections() {
        // magic, version, then custom section "name" (id 0, size 5: len 4 + "name").
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend_from_slice(&[0, 5, 4]);
        wasm.extend_from_slice(b"name");
        wasm.extend_from_slice(&[1, 1, 0]); // an empty type section
        assert_eq!(custom_sections(&wasm), vec!["name".to_owned()]);
    }

    #[test]
    fn repetitive_input_compresses() {
        let input = vec![b'a'; 10_000];
        let len = gzip_len(&input).expect("gzip");
        assert!(len < 100, "{len}");
    }
}
