export * from '../core/text/text-file';
