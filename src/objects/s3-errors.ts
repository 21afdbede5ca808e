// S3 error codes: the HTTP status and default message of each code the S3 API answers with.
import type { S3ErrorDetail } from "./s3-xml-write.ts";
/*
 * From Amazon S3's "Error responses" reference (List of error codes,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList). The messages are the
 * documented defaults; a handler may say more in its own Message and add fields (BucketName, Key, ...) beside it.
 * Two codes are not in that list but are what S3 answers, and clients and other S3 servers (MinIO, Ceph RGW) use
 * them with these statuses: XAmzContentSHA256Mismatch when the body does not hash to the x-amz-content-sha256
 * header, and InvalidChunkSizeError when an aws-chunked chunk before the last is under 8 KiB. One is goosed's own:
 * InsufficientStorage (HTTP 507, RFC 4918) for a full data disk, which S3 never reports; a 503 would make clients
 * retry the upload into the same full disk and then hide the message behind their retry error.
 */
export const S3_ERRORS = {
  AccessDenied: { status: 403, message: "Access Denied" },
  AuthorizationHeaderMalformed: { status: 400, message: "The authorization header you provided is invalid." },
  AuthorizationQueryParametersError: { status: 400, message: "The query parameters that provide authentication information are not valid." },
  BadDigest: { status: 400, message: "The Content-MD5 you specified did not match what we received." },
  BucketAlreadyExists: { status: 409, message: "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again." },
  BucketAlreadyOwnedByYou: { status: 409, message: "Your previous request to create the named bucket succeeded and you already own it." },
  BucketNotEmpty: { status: 409, message: "The bucket you tried to delete is not empty." },
  EntityTooLarge: { status: 400, message: "Your proposed upload exceeds the maximum allowed object size." },
  EntityTooSmall: { status: 400, message: "Your proposed upload is smaller than the minimum allowed object size." },
  ExpiredToken: { status: 400, message: "The provided token has expired." },
  IncompleteBody: { status: 400, message: "You did not provide the number of bytes specified by the Content-Length HTTP header." },
  InternalError: { status: 500, message: "We encountered an internal error. Please try again." },
  InsufficientStorage: { status: 507, message: "The appliance's data disk is full." },
  InvalidAccessKeyId: { status: 403, message: "The AWS access key ID you provided does not exist in our records." },
  InvalidArgument: { status: 400, message: "Invalid Argument" },
  InvalidBucketName: { status: 400, message: "The specified bucket is not valid." },
  InvalidChunkSizeError: { status: 400, message: "Only the last chunk is allowed to have a size less than 8192 bytes" },
  InvalidDigest: { status: 400, message: "The Content-MD5 you specified is not valid." },
  InvalidLocationConstraint: { status: 400, message: "The specified location constraint is not valid." },
  InvalidPart: { status: 400, message: "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag." },
  InvalidPartOrder: { status: 400, message: "The list of parts was not in ascending order. Parts list must be specified in order by part number." },
  InvalidRange: { status: 416, message: "The requested range cannot be satisfied." },
  InvalidRequest: { status: 400, message: "Invalid Request" },
  InvalidStorageClass: { status: 400, message: "The storage class you specified is not valid." },
  InvalidURI: { status: 400, message: "Couldn't parse the specified URI." },
  KeyTooLongError: { status: 400, message: "Your key is too long." },
  MalformedXML: { status: 400, message: "The XML you provided was not well-formed or did not validate against our published schema." },
  MaxMessageLengthExceeded: { status: 400, message: "Your request was too big." },
  MetadataTooLarge: { status: 400, message: "Your metadata headers exceed the maximum allowed metadata size." },
  MethodNotAllowed: { status: 405, message: "The specified method is not allowed against this resource." },
  MissingContentLength: { status: 411, message: "You must provide the Content-Length HTTP header." },
  MissingRequestBodyError: { status: 400, message: "Request body is empty." },
  MissingSecurityHeader: { status: 400, message: "Your request is missing a required header." },
  NoSuchBucket: { status: 404, message: "The specified bucket does not exist." },
  NoSuchKey: { status: 404, message: "The specified key does not exist." },
  NoSuchUpload: { status: 404, message: "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed." },
  NoSuchVersion: { status: 404, message: "The version ID specified in the request does not match an existing version." },
  NotImplemented: { status: 501, message: "A header you provided implies functionality that is not implemented." },
  PreconditionFailed: { status: 412, message: "At least one of the preconditions you specified did not hold." },
  RequestTimeout: { status: 400, message: "Your socket connection to the server was not read from or written to within the timeout period." },
  RequestTimeTooSkewed: { status: 403, message: "The difference between the request time and the server's time is too large." },
  ServiceUnavailable: { status: 503, message: "Reduce your request rate." },
  SignatureDoesNotMatch: { status: 403, message: "The request signature we calculated does not match the signature you provided. Check your AWS secret access key and signing method." },
  SlowDown: { status: 503, message: "Reduce your request rate." },
  XAmzContentSHA256Mismatch: { status: 400, message: "The provided 'x-amz-content-sha256' header does not match what was computed." },
} as const satisfies Record<string, { status: number; message: string }>;

export type S3ErrorCode = keyof typeof S3_ERRORS;

/** A refusal the S3 API answers with S3's XML error document; thrown by the catalog and the handlers. */
export class S3Error extends Error {
  readonly code: S3ErrorCode;
  readonly status: number;
  readonly details?: Partial<Record<S3ErrorDetail, string | number>>;
  /** Header fields the answer carries, e.g. Content-Range on InvalidRange. */
  readonly headers?: Record<string, string>;

  constructor(code: S3ErrorCode, init: { message?: string; details?: Partial<Record<S3ErrorDetail, string | number>>; headers?: Record<string, string> } = {}) {
    super(init.message ?? S3_ERRORS[code].message);
    this.name = "S3Error";
    this.code = code;
    this.status = S3_ERRORS[code].status;
    this.details = init.details;
    this.headers = init.headers;
  }
}
