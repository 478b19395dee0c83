// Public API of src/data, re-exported by src/index.ts.
export { DownloadError, CredentialsError, KaggleApiError, UnauthorizedError, ForbiddenError, DatasetNotFoundError, HashMismatchError, DownloadTimeoutError, UnexpectedContentError, redactUrl } from './errors';
export { downloadFile, parseRetryAfter, DOWNLOAD_DEFAULTS, type DownloadFileArgs, type DownloadFileResult, type RetryArgs, type FailedResponse } from './download';
export { checkFileContent, resolveExpectedContent, HDF5_SIGNATURE, type ExpectedContent, type ContentKind } from './content-check';
export { withFileLock, LockTimeoutError, type FileLockArgs } from './lock';
export { findKaggleCredentials, hasKaggleCredentials, kaggleConfigCandidates, type KaggleCredentialsInfo, type FindKaggleCredentialsArgs } from './credentials';
export { datasetsDownload, KAGGLE_API_BASE_URL, type DatasetsDownloadArgs, type DatasetsDownloadResult } from './kaggle';
export { getFile, hashFile, kerasHome, resolveHashAlgorithm, type GetFileArgs, type HashAlgorithm } from './get-file';
export { ArchiveError } from './errors';
export { extractArchive, EXTRACT_ARCHIVE_DEFAULTS, type ExtractArchiveArgs, type ExtractResult } from './archive';
export { chestCtPhantom, CHEST_CT_CLASSES, CHEST_CT_TEST_CLASSES, CHEST_CT_COUNTS, CHEST_CT_DATASET, CHEST_CT_ZIP_NAME, type ChestCtPhantomArgs, type PhantomResult, type ChestCtSplit } from './phantom';
export { obtainChestCtZip, type ObtainChestCtZipArgs, type ChestCtZip } from './chest-ct';
export { phantomSourceSample, PHANTOM_SOURCE_CLASSES, SOURCE_SEED_ROOT, type PhantomSourceClass, type PhantomSourceSample, type PhantomSourceSampleArgs } from './phantom-source';
export type { LesionBox, LesionSite, LesionSide, LesionZone } from './phantom-render';
export { readPhantomLesions, lesionBoxOf, PHANTOM_LESIONS_FILE, LesionsUnavailableError, type PhantomLesions, type PhantomLesionEntry, type PhantomLesionBox, type PixelBox } from './phantom-lesions';
