package main

import (
	"context"
	"testing"
	"time"
)

func TestCallQueue_FirstInFirstOutAndNeverBlocksAPush(t *testing.T) {
	q := newCallQueue()
	var got []int
	for i := 0; i < 5000; i++ { // far beyond any channel buffer the queue could hide
		i := i
		q.push(func(context.Context) { got = append(got, i) })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 5000; i++ {
		job := q.pop(ctx)
		if job == nil {
			t.Fatalf("pop %d: nothing", i)
		}
		job(ctx)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("job %d ran as %d", v, i)
		}
	}
}

func TestCallQueue_PopWaitsForAPushAndEndsWithItsContext(t *testing.T) {
	q := newCallQueue()
	ctx, cancel := context.WithCancel(context.Background())
	popped := make(chan func(context.Context))
	go func() { popped <- q.pop(ctx) }()
	ran := false
	q.push(func(context.Context) { ran = true })
	select {
	case job := <-popped:
		job(ctx)
	case <-time.After(10 * time.Second):
		t.Fatal("a waiting pop did not get the pushed job")
	}
	if !ran {
		t.Fatal("the popped job is not the pushed one")
	}
	go func() { popped <- q.pop(ctx) }()
	cancel()
	select {
	case job := <-popped:
		if job != nil {
			t.Fatal("pop returned a job from an empty queue")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("pop did not end with its context")
	}
}
