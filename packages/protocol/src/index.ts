export {
  ACCESS_TOKEN_HEADER,
  decodeEnvdBootConfig,
  decodeEnvdStartConfig,
  ENVD_CONFIG_ENV,
  ENVD_PORT,
  ENVD_START_ENV,
  ENVD_VERSION,
  type EnvdBootConfig,
  type EnvdInitRequest,
  type EnvdStartConfig,
  encodeEnvdBootConfig,
  encodeEnvdStartConfig,
  INIT_TOKEN_HEADER,
  SANDBOX_ID_HEADER,
  SANDBOX_PORT_HEADER,
  unownedEnvdEnv,
} from './envd-config.js';
export { type FileOperation, fileOperationForMethod, fileSignature, type SignatureInput } from './file-signature.js';
// envd's Connect RPC services and messages, generated from proto/ by `npm run gen`.
export * from './gen/filesystem/filesystem_pb.js';
export * from './gen/process/process_pb.js';
