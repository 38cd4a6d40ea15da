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
