/** The controller program. @module */
