// Every workflow the worker registers.
export { trainingPipeline } from './training-pipeline.js';
