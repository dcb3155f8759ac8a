/**
 * The histogram's step slider of both inspectors: one position per sample; the last one follows the newest
 * sample (`onStep(undefined)`), any other pins that sample's step.
 */
export function StepSlider({ label, points, index, onStep }: { label: string; points: readonly { step: number }[]; index: number; onStep: (step: number | undefined) => void }) {
  return (
    <label>
      {label}{' '}
      <input
        type="range"
        aria-label="Histogram step"
        min={0}
        max={points.length - 1}
        value={index}
        onInput={(e) => {
          const value = Number((e.target as HTMLInputElement).value)
          onStep(value === points.length - 1 ? undefined : points[value]!.step)
        }}
      />
    </label>
  )
}
