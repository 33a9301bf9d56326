// Statistics and tables for benchmark reports (shared with the host).

export { percentile, median, geomean } from "../host/stats.js";
export { table } from "../host/text/table.js";
