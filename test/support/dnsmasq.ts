// The demo starts the same DNS server: one copy, in demo/.
export * from "../../demo/dnsmasq.js";
