//! Bindings for `wasmqq:plugin@0.1.0` (`plugin-api/wit/since_v0.1.0`).

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../plugin-api/wit/since_v0.1.0",
    imports: { default: async },
    exports: { default: async },
    additional_derives: [PartialEq, Eq, Hash],
});
