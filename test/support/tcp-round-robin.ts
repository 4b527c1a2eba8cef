// The demo runs the same connection-level balancer: one copy, in demo/.
export * from "../../demo/tcp-round-robin.js";
