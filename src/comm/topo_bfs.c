/* topo_bfs.c - breadth-first search for connectivity and the diameter (max eccentricity), fast
 * enough for every source of a dense 4096-node graph. */
#include <stdlib.h>

#include "comm/topo_internal.h"

/* Direction-optimising BFS (Beamer, Asanovic & Patterson, "Direction-optimizing breadth-first
 * search", SC 2012): when the frontier's edges outnumber 1/14 (their alpha) of the unvisited
 * nodes' edges, let each unvisited node look for any parent in the frontier and stop at the
 * first, instead of scanning every frontier edge. On a dense graph that makes one BFS O(N),
 * the all-sources diameter O(N^2). Returns src's eccentricity, -1 if some node is unreachable.
 * dist, queue: (n) scratch. */
static int bfs(const sal_graph *g, int src, int *dist, int *queue) {
    int n = g->n, head = 0, tail = 1, level = 0;
    for (int i = 0; i < n; i++) dist[i] = -1;
    dist[src] = 0, queue[0] = src;
    int64_t unvisited_edges = g->offset[n] - sal_graph_degree(g, src);
    while (head < tail) {
        int64_t frontier_edges = 0;
        for (int q = head; q < tail; q++) frontier_edges += sal_graph_degree(g, queue[q]);
        int lo = head, hi = tail;
        head = tail, level++;
        if (frontier_edges > unvisited_edges / 14) {
            for (int v = 0; v < n; v++) {
                if (dist[v] >= 0) continue;
                for (int64_t k = g->offset[v]; k < g->offset[v + 1]; k++)
                    if (dist[g->adj[k]] == level - 1) {
                        dist[v] = level, queue[tail++] = v;
                        unvisited_edges -= sal_graph_degree(g, v);
                        break;
                    }
            }
        } else {
            for (int q = lo; q < hi; q++) {
                int u = queue[q];
                for (int64_t k = g->offset[u]; k < g->offset[u + 1]; k++) {
                    int v = g->adj[k];
                    if (dist[v] >= 0) continue;
                    dist[v] = level, queue[tail++] = v;
                    unvisited_edges -= sal_graph_degree(g, v);
                }
            }
        }
    }
    return tail == n ? dist[queue[tail - 1]] : -1;
}

int sal_graph_eccentricity_max(const sal_graph *g, int first, int stride) {
    int *dist = malloc(sizeof(int) * (size_t)g->n), *queue = malloc(sizeof(int) * (size_t)g->n);
    int best = 0;
    if (!dist || !queue) best = -2;
    for (int s = first; s < g->n && best >= 0; s += stride) {
        int e = bfs(g, s, dist, queue);
        best = e < 0 ? -1 : e > best ? e : best;
    }
    free(dist), free(queue);
    return best;
}

int sal_graph_connected(const sal_graph *g) {
    return g->n <= 1 || sal_graph_eccentricity_max(g, 0, g->n) >= 0;
}
