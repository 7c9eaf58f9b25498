//! Writes the example shop's history and incidents:
//!
//! ```sh
//! cargo run -p slo-core --example gen_shop_data -- examples/data
//! ```
//!
//! The output is deterministic; `slo-core/tests/shop_example.rs` checks the
//! committed files match it.

mod shop;

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("examples/data"), PathBuf::from);
    std::fs::create_dir_all(&dir)?;
    let shop = shop::generate();
    std::fs::write(dir.join("shop.om"), &shop.openmetrics)?;
    std::fs::write(dir.join("incidents.yaml"), &shop.incidents)?;
    eprintln!(
        "wrote {} ({} bytes) and {}",
        dir.join("shop.om").display(),
        shop.openmetrics.len(),
        dir.join("incidents.yaml").display()
    );
    Ok(())
}
