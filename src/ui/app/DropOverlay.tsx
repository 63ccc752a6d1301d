import { useEffect, useState } from 'react';
import { reportDropError } from '../features/model/actions';
import { type CollectedFiles, collectDroppedFiles, type HowGiven } from '../features/model/drop';

function hasFiles(event: DragEvent): boolean {
  return Array.from(event.dataTransfer?.types ?? []).includes('Files');
}

/**
 * A model folder or a text file may be dropped anywhere on the page. Areas with their own drop target (the text
 * boxes) handle their drops first and stop them here.
 */
export function DropOverlay({
  onFiles,
}: {
  onFiles(collected: CollectedFiles, how: HowGiven): Promise<void>;
}) {
  const [dragging, setDragging] = useState(false);
  useEffect(() => {
    let depth = 0;
    const enter = (event: DragEvent) => {
      if (!hasFiles(event)) return;
      depth++;
      setDragging(true);
    };
    const leave = () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) setDragging(false);
    };
    const over = (event: DragEvent) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
    };
    const drop = (event: DragEvent) => {
      depth = 0;
      setDragging(false);
      if (!event.dataTransfer || event.defaultPrevented) return;
      event.preventDefault();
      collectDroppedFiles(event.dataTransfer).then(
        (collected) => onFiles(collected, 'dropped'),
        reportDropError,
      );
    };
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragleave', leave);
    window.addEventListener('dragover', over);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragenter', enter);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('dragover', over);
      window.removeEventListener('drop', drop);
    };
  }, [onFiles]);
  if (!dragging) return null;
  return (
    <div className="drop-overlay" aria-hidden="true">
      <div className="drop-message">
        <strong>Drop to open</strong>
        <span>a Hugging Face model folder (config.json, tokenizer, *.safetensors) or a .txt/.jsonl text</span>
      </div>
    </div>
  );
}
