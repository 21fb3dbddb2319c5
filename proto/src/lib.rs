//! Generated gRPC types and stubs for the EMREX services. The `.proto` sources under
//! `proto/emrex/<service>/v1/` are the documentation of every message and field.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

/// `emrex.signer.v1`: signing ELMO documents with an NCP's key.
pub mod signer {
    pub mod v1 {
        tonic::include_proto!("emrex.signer.v1");
    }
}

/// `emrex.registry.v1`: EMREG, the registry of NCPs and their certificates.
pub mod registry {
    pub mod v1 {
        tonic::include_proto!("emrex.registry.v1");
    }
}

/// `emrex.ncp.v1`: what an institution implements so the NCP can show a student's results.
pub mod ncp {
    pub mod v1 {
        tonic::include_proto!("emrex.ncp.v1");
    }
}

/// `emrex.smp.v1`: the SMP's API for its Student Information System.
pub mod smp {
    pub mod v1 {
        tonic::include_proto!("emrex.smp.v1");
    }
}

/// The encoded `FileDescriptorSet` of every service, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/emrex_descriptor.bin"));

#[cfg(test)]
mod tests {
    use prost::Message;

    #[test]
    fn descriptor_set_lists_both_services() {
        let fds = prost_types_lite::decode(super::FILE_DESCRIPTOR_SET);
        assert!(
            fds.contains(&"emrex/signer/v1/signer.proto".to_string()),
            "{fds:?}"
        );
        assert!(
            fds.contains(&"emrex/registry/v1/registry.proto".to_string()),
            "{fds:?}"
        );
        assert!(
            fds.contains(&"emrex/ncp/v1/results.proto".to_string()),
            "{fds:?}"
        );
        // Messages round-trip.
        let req = super::signer::v1::SignRequest {
            elmo_xml: b"<elmo/>".to_vec(),
        };
        let back =
            super::signer::v1::SignRequest::decode(req.encode_to_vec().as_slice()).expect("decode");
        assert_eq!(back, req);
    }

    /// Just enough descriptor decoding to list file names, without pulling prost-types in.
    mod prost_types_lite {
        #[derive(Clone, PartialEq, prost::Message)]
        struct FileDescriptorSet {
            #[prost(message, repeated, tag = "1")]
            file: Vec<FileDescriptorProto>,
        }
        #[derive(Clone, PartialEq, prost::Message)]
        struct FileDescriptorProto {
            #[prost(string, optional, tag = "1")]
            name: Option<String>,
        }
        pub fn decode(bytes: &[u8]) -> Vec<String> {
            use prost::Message;
            FileDescriptorSet::decode(bytes)
                .expect("descriptor set")
                .file
                .into_iter()
                .filter_map(|f| f.name)
                .collect()
        }
    }
}
