//! Compiles the .proto files with protox (pure Rust, so no system `protoc` is needed) and tonic's
//! prost code generator, and writes the encoded descriptor set for gRPC reflection.

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "emrex/signer/v1/signer.proto",
    "emrex/registry/v1/registry.proto",
    "emrex/ncp/v1/results.proto",
    "emrex/smp/v1/smp.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for p in PROTOS {
        println!("cargo:rerun-if-changed={p}");
    }
    let fds = protox::compile(PROTOS, ["."])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("emrex_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
