/**
 * The wire contracts between the programs: gRPC services (`schema/*.proto`),
 * the JSON messages carried in Kafka and in gRPC string fields, the etcd key
 * schema and topic names. Every message has one zod schema here, and every
 * consumer validates with it.
 *
 * @module
 */
export * from "./names.ts";
export * from "./json_field.ts";
export * from "./activation_message.ts";
export * from "./fetch_result.ts";
export * from "./acknowledgement.ts";
export * from "./scheduler_state.ts";
export * from "./keys.ts";
export * from "./topics.ts";
export * from "./fetch_token.ts";
export * from "./grpc.ts";
export * from "./action.ts";
export * from "./container_messages.ts";
export * from "./invoker_state.ts";
