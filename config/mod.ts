/**
 * Environment configuration helpers shared by the programs.
 *
 * @module
 */
export {
  ConfigError,
  deepFreeze,
  envList,
  envPort,
  envPositiveMs,
  parseEnv,
} from "./env_config.ts";
