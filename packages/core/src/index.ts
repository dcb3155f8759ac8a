/** @sparselab-profiler/core — schema v1 (declared once, with valibot), validation, RunStore and the Vega-Lite report builder. */
export {
  MASK_SOURCES,
  MAX_DEVICE_CHARS,
  MAX_EVENT_ROWS,
  MAX_HISTOGRAM_BINS,
  MAX_LAYERS,
  MAX_METRICS,
  MAX_REASON_CHARS,
  MAX_SCALARS,
  MAX_SCALAR_NAME_CHARS,
  MAX_SHAPE_DIMS,
  SCHEMA_VERSION,
  STORAGE_FORMATS,
} from './schema.js'
export type {
  AlgorithmInfo,
  EndRecord,
  EndStatus,
  EventRecord,
  FlagThresholdsInput,
  Histogram,
  LayerInfo,
  LayerRecord,
  LayerSample,
  MaskSource,
  MetricRecord,
  RunRecord,
  SampleRecord,
  SamplerConfig,
  SamplerRecord,
  StorageFormat,
  TopologyOp,
  WireRecord,
} from './schema.js'
export { isValidRunId, validateRecord } from './validateRecord.js'
export { algorithmTarget } from './algorithmTarget.js'
export type { Validation } from './validateRecord.js'
export { formatNdjsonError, parseNdjson } from './parseNdjson.js'
export type { NdjsonError, NdjsonParse } from './parseNdjson.js'
export { checkBatch } from './checkBatch.js'
export type { BatchProblem } from './checkBatch.js'
export { RunStore } from './RunStore.js'
export { SampleHistory } from './SampleHistory.js'
export type { Thinning } from './SampleHistory.js'
export { decimateSamples, layerHistory, layerPoint, runOverview, sparsityColumn } from './runViews.js'
export type { LayerHistory, LayerPoint, RunOverview } from './runViews.js'
export { MAX_LAYER_CHANGES, OVERVIEW_POINTS, applyToOverview, liveLayerInfo, liveOverview } from './liveOverview.js'
export type { LiveOverview, LiveOverviewOptions } from './liveOverview.js'
export { LAYER_POINTS, applyToLayerHistory } from './applyToLayerHistory.js'
export type { LayerHistoryOptions } from './applyToLayerHistory.js'
export type { Acks, RunSnapshot, RunStatus, RunStoreOptions, RunSummary } from './RunStore.js'
export { deriveTotals, describeSaving, formatBytes, formatCount, formatLayerName, formatPercent, memoryVsDense, reportFileName, compareReportFileName } from './totals.js'
export type { ModelTotals } from './totals.js'
export {
  DATASET,
  HEATMAP_LAYER_THRESHOLD,
  HISTOGRAM_SUBTITLE,
  STEP_DOMAIN,
  bandsSpec,
  churnSpec,
  comparedHistogramRows,
  eventRows,
  eventsPerStep,
  eventsSpec,
  flagMarkRows,
  heatmapRows,
  histogramRows,
  itopSpec,
  layerPoints,
  maskDistanceSpec,
  metricRows,
  metricSpec,
  histogramSpec,
  regrowthSpec,
  scalarRows,
  scalarSpec,
  sparsityRows,
  sparsitySpec,
  stepDomainOf,
} from './chartSpecs.js'
export type { EventRow, FlagMarkRow, HeatmapRow, HistogramRow, MetricRow, ScalarRow, SparsityRow, SparsitySpecOptions, StepDomain, VegaLiteSpec } from './chartSpecs.js'
export { chartConfig } from './chartTheme.js'
export type { ColorScheme } from './chartTheme.js'
export { MODEL_CHURN, bandRows, churnRows, explorationAt, explorationRows, layerExplorationRows, nnzBefore, regrowthRows } from './dynamics.js'
export type { BandRow, ChurnRow, ExplorationLayer, ExplorationOptions, ExplorationRow, RegrowthRow } from './dynamics.js'
export { describeSampling, intervalAt, rollingOverhead } from './profilerCost.js'
export type { CostPoint } from './profilerCost.js'
export { rebinHistograms } from './rebinHistograms.js'
export type { RebinnedHistograms } from './rebinHistograms.js'
export { DEFAULT_SECTIONS, REPORT_SECTIONS, buildReport, samplesCsv, storageChanges } from './buildReport.js'
export type { BuildReportOptions, LatencyStats, LayerSummary, ReportChart, ReportModel, ReportSection, StorageChange } from './buildReport.js'
export type { VegaLibraries } from './vegaLibraries.js'
export { DEFAULT_FLAG_THRESHOLDS, FLAGS_DOC, FLAG_RULES, FlagEvaluator, SEVERITIES, evaluateFlags, parseFlagThresholds } from './flags.js'
export type { Flag, FlagRule, FlagThresholds, Severity } from './flags.js'
export { LATE_SHARE, MAX_COMPARED_RUNS, alignedAxis, compareRuns, formatDuration, sparsityDifferenceMatrix, summaryRows } from './compareRuns.js'
export type { CompareRunsOptions, ComparedPoint, ComparedRun, DifferenceMatrix, DifferencePoint, RunComparison, RunSummaryColumn, StepAlignment, SummaryRow } from './compareRuns.js'
export { COMPARE_DATASET, RUN_DASHES, compareLinesSpec, comparedDomain, comparedEventsSpec, comparedHistogramSpec, differenceSpec, runLabel } from './compareSpecs.js'
export type { ComparedEventRow } from './compareSpecs.js'
export { buildCompareReport } from './buildCompareReport.js'
export type { CompareChart, CompareGroup, CompareReportModel, CompareReportOptions, CompareReportRun } from './buildCompareReport.js'
