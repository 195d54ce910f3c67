//! Registry errors: the distribution spec's codes. The registry API turns them into
//! `{"errors": [{"code", "message", "detail"}]}` with [`RegistryError::status`].

use depot_core::CoreError;

pub type RegistryResult<T> = Result<T, RegistryError>;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("blob unknown to registry: {0}")]
    BlobUnknown(String),
    #[error("blob upload invalid: {0}")]
    BlobUploadInvalid(String),
    #[error("blob upload unknown to registry")]
    BlobUploadUnknown,
    #[error("{0}")]
    RangeInvalid(String),
    #[error("invalid digest: {0}")]
    DigestInvalid(String),
    #[error("manifest references a blob or manifest unknown to the registry: {0}")]
    ManifestBlobUnknown(String),
    #[error("manifest invalid: {0}")]
    ManifestInvalid(String),
    #[error("manifest unknown: {0}")]
    ManifestUnknown(String),
    #[error("invalid repository name: {0}")]
    NameInvalid(String),
    #[error("repository name not known to registry: {0}")]
    NameUnknown(String),
    #[error("provided length did not match content length: {0}")]
    SizeInvalid(String),
    #[error("manifest tag did not match URI: {0}")]
    TagInvalid(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("requested access to the resource is denied")]
    Denied,
    #[error("the operation is unsupported: {0}")]
    Unsupported(String),
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl RegistryError {
    /// The spec's error code.
    pub fn code(&self) -> &'static str {
        match self {
            RegistryError::BlobUnknown(_) => "BLOB_UNKNOWN",
            RegistryError::BlobUploadInvalid(_) | RegistryError::RangeInvalid(_) => {
                "BLOB_UPLOAD_INVALID"
            }
            RegistryError::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            RegistryError::DigestInvalid(_) => "DIGEST_INVALID",
            RegistryError::ManifestBlobUnknown(_) => "MANIFEST_BLOB_UNKNOWN",
            RegistryError::ManifestInvalid(_) => "MANIFEST_INVALID",
            RegistryError::ManifestUnknown(_) => "MANIFEST_UNKNOWN",
            RegistryError::NameInvalid(_) => "NAME_INVALID",
            RegistryError::NameUnknown(_) => "NAME_UNKNOWN",
            RegistryError::SizeInvalid(_) => "SIZE_INVALID",
            RegistryError::TagInvalid(_) => "TAG_INVALID",
            RegistryError::Unauthorized => "UNAUTHORIZED",
            RegistryError::Denied => "DENIED",
            RegistryError::Unsupported(_) => "UNSUPPORTED",
            RegistryError::Core(CoreError::Unauthenticated(_)) => "UNAUTHORIZED",
            RegistryError::Core(CoreError::Forbidden(_)) => "DENIED",
            RegistryError::Core(CoreError::NotFound(_)) => "NAME_UNKNOWN",
            RegistryError::Core(CoreError::Invalid(_) | CoreError::Conflict(_)) => "UNSUPPORTED",
            RegistryError::Core(_) => "UNKNOWN",
        }
    }

    /// The HTTP status the spec gives the error.
    pub fn status(&self) -> u16 {
        match self {
            RegistryError::BlobUnknown(_)
            | RegistryError::BlobUploadUnknown
            | RegistryError::ManifestUnknown(_)
            | RegistryError::NameUnknown(_) => 404,
            RegistryError::RangeInvalid(_) => 416,
            RegistryError::Unauthorized => 401,
            RegistryError::Denied => 403,
            RegistryError::Core(CoreError::NotFound(_)) => 404,
            RegistryError::Core(CoreError::Unauthenticated(_)) => 401,
            RegistryError::Core(CoreError::Forbidden(_)) => 403,
            RegistryError::Core(CoreError::Invalid(_)) => 400,
            RegistryError::Core(CoreError::Conflict(_)) => 409,
            RegistryError::Core(CoreError::Remote(_)) => 502,
            RegistryError::Core(_) => 500,
            _ => 400,
        }
    }
}

impl From<sqlx::Error> for RegistryError {
    fn from(e: sqlx::Error) -> Self {
        RegistryError::Core(e.into())
    }
}
