import * as protobuf from 'protobufjs';

/**
 * The subset of onnx.proto (ONNX 1.12, proto2, IR version 8) that a tree-ensemble model
 * needs, declared by hand because the onnx-proto package is not a dependency. Field numbers
 * and types are copied from onnx/onnx.proto; everything a model of ours does not use is
 * left out (unknown fields are simply never written).
 */
const ONNX_SUBSET = `
syntax = "proto2";
package onnx;

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5;
    FLOATS = 6; INTS = 7; STRINGS = 8; TENSORS = 9; GRAPHS = 10;
  }
  optional string name = 1;
  optional string doc_string = 13;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
}

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  optional string doc_string = 10;
  repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}

message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional string name = 8;
  optional bytes raw_data = 9;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
  optional string denotation = 6;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}

message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}
`;

/** AttributeProto.AttributeType values used here. */
export const ATTR = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;
/** TensorProto.DataType.FLOAT */
export const ELEM_FLOAT = 1;

let root: protobuf.Root | null = null;

/** The parsed schema (parsed once, on first use). */
export function onnxRoot(): protobuf.Root {
  if (root === null) root = protobuf.parse(ONNX_SUBSET, { keepCase: true }).root;
  return root;
}

/** A float32 tensor as a graph initializer (raw little-endian bytes, as onnx.numpy_helper writes them). */
export function floatInitializer(name: string, dims: number[], values: ArrayLike<number>): Record<string, unknown> {
  const f = Float32Array.from(values as ArrayLike<number>);
  const raw = Buffer.alloc(f.length * 4);
  for (let i = 0; i < f.length; i++) raw.writeFloatLE(f[i], i * 4);
  return { name, dims, data_type: ELEM_FLOAT, raw_data: raw };
}

/** The ModelProto message type. */
export function modelProtoType(): protobuf.Type {
  return onnxRoot().lookupType('onnx.ModelProto');
}
