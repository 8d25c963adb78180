import { expect } from 'chai';
import { ChatError, type ErrorCode } from '@parley/protocol';
import type { ChatStore } from '../src/chat-store.js';

/** What a conformance run needs: a fresh, empty store and a way to dispose of it. */
export interface StoreUnderTest {
  store: ChatStore;
  cleanup(): Promise<void>;
}

/** A fixed clock: every conformance test passes `now` explicitly, so results are exact. */
export const T0 = 1_763_740_000_000;

/** Awaits `promise` and expects it to reject with a `ChatError` of `code` (or one of them); answers the error. */
export async function expectChatError(promise: Promise<unknown>, code: ErrorCode | ErrorCode[]): Promise<ChatError> {
  const codes = Array.isArray(code) ? code : [code];
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(ChatError);
    expect(codes).to.include((error as ChatError).code);
    return error as ChatError;
  }
  throw new Error(`expected a ChatError ${codes.join(' or ')}, but the call succeeded`);
}

/**
 * A fresh store from `makeStore` for each test of the calling `describe`,
 * disposed of after it; the getter answers the current test's store.
 */
export function useStoreUnderTest(makeStore: () => Promise<StoreUnderTest>): () => ChatStore {
  let subject: StoreUnderTest | undefined;
  beforeEach(async () => {
    subject = await makeStore();
  });
  afterEach(async () => {
    await subject?.cleanup();
    subject = undefined;
  });
  return () => {
    if (subject === undefined) throw new Error('no store under test (used outside a test?)');
    return subject.store;
  };
}
