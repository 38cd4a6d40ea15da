/** The invoker program. @module */
