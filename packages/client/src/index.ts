export { createApi, newClientId, type ApiOptions, type Credentials, type HistoryPage, type ParleyApi } from './api.js';
export { ParleyError } from './errors.js';
export { InOrderDelivery, type HistoryReader, type InOrderDeliveryOptions } from './in-order-delivery.js';
export { ObserveLoop, type ConnectionState, type ObserveLoopOptions } from './observe-loop.js';
export { SharedObserve, type SharedObserveOptions } from './shared-observe.js';
export { fetchTransport, jsonpTransport, type ObserveTransport, type TransportOptions } from './transports.js';
export { streamTransport, type EventSourceLike, type StreamTransportOptions } from './stream-transport.js';
