// Module variants: one Asyncify layout, three sets of barriers.
//
// The instrumented module is run through Asyncify once, with the barrier
// helpers still opaque calls (helpers.ts). From that one binary, each variant
// gives the helpers its own bodies and is optimized on its own:
//
//   plain     polls only: both barriers empty and inlined away. What a
//             process runs while nobody is migrating it.
//   track     + write barrier: marks dirty pages (pre-copy rounds).
//   postcopy  + write and presence barriers: waits for absent pages.
//
// Because the Asyncify pass ran before the helpers diverged, every variant
// saves and restores the same locals at the same call sites in the same order:
// a process frozen in one variant resumes in any other (tests/freeze.test.ts
// proves it on every example guest, tests/workloads.test.ts on every workload).
// A process switches variant at a freeze (GuestProcess.toVariant).

export const VARIANTS = {
  plain: { write: false, presence: false },
  track: { write: true, presence: false },
  postcopy: { write: true, presence: true },
} as const;

export type Variant = keyof typeof VARIANTS;
export const VARIANT_NAMES = Object.keys(VARIANTS) as Variant[];

/** The custom section that carries a non-primary variant's binary. */
export const variantSection = (v: Variant) => `migrant.variant.${v}`;
/** The variant stored as the file's own code. */
export const PRIMARY: Variant = "plain";
