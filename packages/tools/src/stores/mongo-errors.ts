import { MongoServerError } from 'mongodb';

/** True for MongoDB's duplicate-key error (the effect was recorded already). */
export const isDuplicateKey = (error: unknown): boolean => error instanceof MongoServerError && error.code === 11000;
