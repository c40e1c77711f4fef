// The upload state machine of an open file: which changes make it dirty with what, and when an
// upload may call it clean.
import { describe, expect, it } from 'vitest';
import { UploadState } from '../../src/fs/upload-state.js';

describe('UploadState', () => {
  it('a header change after a content change still owes the content', () => {
    const s = new UploadState(undefined);
    s.headersChanged();
    expect(s.state).toEqual({ kind: 'dirty', pending: 'headers' });
    s.contentChanged();
    s.headersChanged();
    expect(s.state).toEqual({ kind: 'dirty', pending: 'content' });
  });

  it('an upload makes the file clean only if nothing changed while it ran', () => {
    const s = new UploadState('content');
    const first = s.snapshot();
    s.contentChanged();
    s.uploaded(first);
    expect(s.dirty).toBe(true);
    const second = s.snapshot();
    s.uploaded(second);
    expect(s.state).toEqual({ kind: 'clean' });
  });

  it('counts header changes, for a multipart upload created before them', () => {
    const s = new UploadState('content');
    const before = s.headerChanges;
    s.headersChanged();
    expect(s.headerChanges).toBe(before + 1);
  });

  it('an unlinked file never uploads again: no change brings it back, no snapshot is taken', () => {
    const s = new UploadState('content');
    s.markUnlinked();
    s.contentChanged();
    s.headersChanged();
    expect(s.state).toEqual({ kind: 'unlinked' });
    expect(() => s.snapshot()).toThrow();
    expect(() => new UploadState(undefined).snapshot()).toThrow();
  });
});
