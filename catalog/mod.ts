/**
 * The action catalog shared by controller, schedulers and invokers.
 *
 * @module
 */
export {
  ActionCatalog,
  ActionExistsError,
  type ActionInput,
  type ListOptions,
} from "./action_catalog.ts";
export { CachedActionCatalog, type CachedActionCatalogOptions } from "./cached_action_catalog.ts";
